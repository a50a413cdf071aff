"""Redis down for a few seconds under load: shoppers notice nothing, and each instance's log
says so in a few lines, not a traceback per cache call (webapp/cache.py's breaker)."""

import time

import pytest

from deploy.stack import INSTANCES
from tests.stack.load import Load

pytestmark = pytest.mark.stack
DOWN_SECONDS = 4


def log_lines(stack) -> dict[str, list[str]]:
    return {
        name: (stack.instance(name).directory / "gunicorn.log").read_text().splitlines()
        for name in INSTANCES
    }


def test_a_redis_outage_logs_a_few_lines_per_instance_and_fails_nothing(stack, shoppers, products):
    before = {name: len(lines) for name, lines in log_lines(stack).items()}
    with Load(shoppers, products) as load:
        time.sleep(1)
        stack.redis.stop()
        time.sleep(DOWN_SECONDS)
        stack.redis.start()
        time.sleep(2)
    new = {name: lines[before[name] :] for name, lines in log_lines(stack).items()}
    tracebacks = {name: sum("Traceback" in line for line in lines) for name, lines in new.items()}
    outage = {name: sum("webapp.cache" in line for line in lines) for name, lines in new.items()}
    load.tally.report(
        f"6 Redis down {DOWN_SECONDS} s",
        tracebacks_per_instance=tracebacks,
        outage_log_lines_per_instance=outage,
    )
    assert not load.tally.failed, [str(o) for o in load.tally.failed]
    assert tracebacks == dict.fromkeys(INSTANCES, 0)
    # Per gunicorn worker (two per instance): "unreachable" when it starts, "answers again"
    # when it ends; a worker that served nothing meanwhile logs neither. On a loaded machine
    # one worker was seen failing once more just after Redis was back and logging that pair
    # again (5 lines on one instance). The bound is set by the workers, never by the
    # requests (without the breaker: a traceback per cache call, thousands).
    assert all(1 <= lines <= 8 for lines in outage.values()), outage
