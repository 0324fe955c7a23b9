"""relay.pipeline.realtime: the error event. (Sessions end to end:
tests/integration/test_realtime_e2e.py; dial targets: test_realtime_targets.py.)"""

from __future__ import annotations

import orjson

from relay.errors import RelayError
from relay.pipeline.realtime import error_event


def test_the_error_event_wraps_the_openai_error() -> None:
    err = RelayError(502, "upstream said no", "bad_response_status_code", type="upstream_error")
    event = orjson.loads(error_event(err, "req1"))
    assert event == {
        "type": "error",
        "event_id": "evt_req1",
        "error": {
            "message": "upstream said no (request id: req1)",
            "type": "upstream_error",
            "code": "bad_response_status_code",
        },
    }
