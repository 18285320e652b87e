"""The message path, channel-neutral: Message in, router to handlers, replies out through the outbox."""
