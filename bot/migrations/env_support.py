"""What the migrations and the schema check share."""

# tables that belong to libraries: created by our migrations, not described by our models
FOREIGN_TABLES = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in FOREIGN_TABLES) and \
        not (type_ == "index" and getattr(getattr(obj, "table", None), "name", None) in FOREIGN_TABLES)
