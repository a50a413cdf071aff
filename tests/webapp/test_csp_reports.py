"""The policy's report endpoint records violations and shrugs off a flood."""

import json
import logging

import pytest

from webapp import csp

REPORT = {
    "csp-report": {
        "document-uri": "https://shop.example.com/cart/",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "https://evil.example.net/x.js",
        "original-policy": "default-src 'none'; ...",
    }
}


@pytest.fixture(autouse=True)
def fresh_budget(monkeypatch):
    monkeypatch.setattr(csp, "budget", csp.LogBudget(csp.REPORTS_PER_MINUTE, 60.0))


def post(client, body, content_type="application/csp-report"):
    return client.generic("POST", "/csp-report/", body, content_type=content_type)


def test_a_report_is_one_log_line(client, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.csp")
    assert post(client, json.dumps(REPORT)).status_code == 204
    [line] = [r.getMessage() for r in caplog.records if r.name == "webapp.csp"]
    assert "blocked-uri='https://evil.example.net/x.js'" in line
    assert "document-uri='https://shop.example.com/cart/'" in line


def test_reporting_api_format_is_read_too(client, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.csp")
    body = [{"type": "csp-violation", "body": {"blockedURL": "inline", "documentURL": "/x"}}]
    assert post(client, json.dumps(body), "application/reports+json").status_code == 204
    assert "blocked-uri='inline'" in caplog.records[-1].getMessage()


def test_a_flood_logs_a_bounded_number_of_lines_and_counts_the_rest(client, caplog):
    caplog.set_level(logging.WARNING, logger="webapp.csp")
    answers = {post(client, json.dumps(REPORT)).status_code for _ in range(500)}
    lines = [r for r in caplog.records if r.name == "webapp.csp"]
    assert answers == {204}
    assert len(lines) == csp.REPORTS_PER_MINUTE
    assert csp.budget.dropped == 500 - csp.REPORTS_PER_MINUTE


def test_the_budget_refills_each_minute():
    now = [0.0]
    budget = csp.LogBudget(2, 60.0, clock=lambda: now[0])
    assert [budget.take(), budget.take(), budget.take()] == [0, 0, None]
    now[0] = 60.0
    assert budget.take() == 1  # the line says one report was dropped before it


@pytest.mark.parametrize("body", ["not json", "[]", '{"csp-report": 3}', '"x"'])
def test_garbage_is_a_quiet_204(client, body):
    assert post(client, body).status_code == 204


def test_big_bodies_are_refused_unread(client):
    assert post(client, "x" * (csp.REPORT_MAX_BYTES + 1)).status_code == 413


def test_only_post(client):
    assert client.get("/csp-report/").status_code == 405
