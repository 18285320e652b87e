"""Channel adapters: each turns a channel's wire format into `Message`s and replies back."""
