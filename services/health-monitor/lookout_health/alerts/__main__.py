from lookout_common.infra.service import serve
from lookout_common.infra.settings import AlertSettings
from lookout_health.alerts.app import create_app


def main() -> None:
    settings = AlertSettings()
    serve(create_app(settings), settings, "alert-consumer")


if __name__ == "__main__":
    main()
