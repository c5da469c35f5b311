"""Log lines name the user, job and scene they belong to."""

import logging

import pytest

from catalog import logcontext


@pytest.fixture
def records(caplog):
    caplog.set_level(logging.INFO)
    handler = caplog.handler
    handler.addFilter(logcontext.ContextFilter())
    yield caplog
    handler.removeFilter(handler.filters[-1])


def test_a_bound_context_is_on_each_record(records):
    with logcontext.bind(job=12, scene="veh-07_1"):
        logging.getLogger("t").error("boom")
    logging.getLogger("t").error("after")
    assert [r.context for r in records.records] == [" [job=12 scene=veh-07_1]", ""]


def test_a_task_names_its_scene_and_job(records, settings):
    from config.celery import _bind_log_context, _unbind_log_context
    from embeddings.tasks import embed_scene

    _bind_log_context(task_id="t1", task=embed_scene, args=[42])
    logging.getLogger("t").warning("in the task")
    _unbind_log_context(task=embed_scene)
    logging.getLogger("t").warning("outside")
    first, second = records.records
    assert first.context == " [scene=42 task=embeddings.tasks.embed_scene[t1]]"
    assert second.context == ""


@pytest.mark.django_db
def test_a_request_names_its_user_once_authenticated(records, api):
    api.get("/api/v1/sets/99999/")  # a 404 is logged as a warning
    (line,) = [r for r in records.records if r.name == "django.request"]
    assert line.context == f" [user={api.user.username}]"
