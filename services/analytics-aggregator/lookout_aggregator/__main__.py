from lookout_aggregator.app import create_app
from lookout_common.infra.service import serve
from lookout_common.infra.settings import AggregatorSettings


def main() -> None:
    settings = AggregatorSettings()
    serve(create_app(settings), settings, "analytics-aggregator")


if __name__ == "__main__":
    main()
