from lookout_common.service import serve
from lookout_common.settings import IngestSettings
from lookout_ingest.app import create_app


def main() -> None:
    settings = IngestSettings()
    serve(create_app(settings), settings, "ingest")


if __name__ == "__main__":
    main()
