from lookout_common.infra.service import serve
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.app import create_app


def main() -> None:
    settings = IngestSettings()
    # Whether X-Forwarded-For is believed is ingest's own setting (trust_forwarded_for):
    # uvicorn would otherwise rewrite the client address from it for loopback peers,
    # letting any local client pick the IP that is rate limited and stored.
    serve(create_app(settings), settings, "ingest", proxy_headers=False)


if __name__ == "__main__":
    main()
