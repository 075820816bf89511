"""The eventsourcing library's own conformance suites, run against our recorders.

Written against eventsourcing==9.5.6 (pinned in pyproject.toml). Every test
gets a fresh, migrated PostgreSQL schema (the ``pg_url`` fixture), so
notification ids start at 1 as the suites expect.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    ProcessRecorder,
    TrackingRecorder,
)
from eventsourcing.tests import application as es_app_tests
from eventsourcing.tests import persistence as es_tests
from eventsourcing.utils import Environment, get_topic

from streams.es_persistence import (
    ObradorAggregateRecorder,
    ObradorApplicationRecorder,
    ObradorFactory,
    ObradorProcessRecorder,
    ObradorTrackingRecorder,
)

MODULE = "streams.es_persistence"
TENANT = "conformance"


class OnFreshSchema:
    """Gives each test ``self.dsn`` (a fresh schema) and closes every factory it opened."""

    dsn: str

    @pytest.fixture(autouse=True)
    def _fresh_schema(self, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        self.dsn = pg_url
        opened: list[ObradorFactory] = []
        original_init = ObradorFactory.__init__

        def recording_init(factory: ObradorFactory, env: Any) -> None:
            original_init(factory, env)
            opened.append(factory)

        monkeypatch.setattr(ObradorFactory, "__init__", recording_init)
        yield
        for factory in opened:
            factory.close()

    def es_env(self, **extra: str) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": MODULE,
            "OBRADOR_ES_DSN": self.dsn,
            "OBRADOR_ES_TENANT": TENANT,
            **extra,
        }

    def new_factory(self) -> ObradorFactory:
        return ObradorFactory(self.es_env())


class TestAggregateRecorder(OnFreshSchema, es_tests.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.new_factory().aggregate_recorder()


class TestSnapshotRecorder(OnFreshSchema, es_tests.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.new_factory().aggregate_recorder(purpose="snapshots")


class TestApplicationRecorder(
    OnFreshSchema, es_tests.ApplicationRecorderTestCase[ApplicationRecorder]
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.new_factory().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestApplicationRecorderWithTextIds(TestApplicationRecorder):
    """The same suite with string originator ids (``ORIGINATOR_ID_TYPE=text``)."""

    def new_originator_id(self) -> str:
        return f"account-{super().new_originator_id()}"

    def create_recorder(self) -> ApplicationRecorder:
        env = self.es_env(ORIGINATOR_ID_TYPE="text")
        return ObradorFactory(env).application_recorder()


class TestTrackingRecorder(OnFreshSchema, es_tests.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.new_factory().tracking_recorder()


class TestProcessRecorder(OnFreshSchema, es_tests.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.new_factory().process_recorder()


class TestNonInterleavingNotificationIDs(
    OnFreshSchema, es_tests.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> ApplicationRecorder:
        return self.new_factory().application_recorder()


class _TrackingRecorderSubclass(ObradorTrackingRecorder):
    pass


class TestInfrastructureFactory(
    OnFreshSchema, es_tests.InfrastructureFactoryTestCase[ObradorFactory]
):
    @pytest.fixture(autouse=True)
    def _environment(self, _fresh_schema: None) -> None:
        self.env = Environment("TestCase", self.es_env())  # read by setUp

    def expected_factory_class(self) -> type[ObradorFactory]:
        return ObradorFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return ObradorAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return ObradorApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return ObradorTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return _TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return ObradorProcessRecorder


class TestExampleApplication(OnFreshSchema, es_app_tests.ExampleApplicationTestCase):
    """The library's bank-accounts example, with snapshots, selected purely by environment."""

    expected_factory_topic = get_topic(ObradorFactory)

    @pytest.fixture(autouse=True)
    def _environment(self, _fresh_schema: None, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in self.es_env().items():
            monkeypatch.setenv(key, value)
