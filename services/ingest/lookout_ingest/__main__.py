from lookout_ingest.server import IngestServerSettings, run


def main() -> None:
    run(IngestServerSettings())


if __name__ == "__main__":
    main()
