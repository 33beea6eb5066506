from lookout_common.infra.service import serve
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_health.app import create_app


def main() -> None:
    settings = HealthMonitorSettings()
    serve(create_app(settings), settings, "health-monitor")


if __name__ == "__main__":
    main()
