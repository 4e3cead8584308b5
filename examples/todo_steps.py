"""The processor of examples/http_csv_mongo.toml."""


def only_done(records):
    """Keep the todos that are done."""
    return [record for record in records if record.payload.get("completed")]
