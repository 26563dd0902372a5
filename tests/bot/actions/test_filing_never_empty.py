import pytest
from rasa_sdk.events import FollowupAction, SlotSet
from sqlalchemy import func, select

from bot.actions.report_form import ActionSubmitReport
from storage.models import Report
from tests.bot.actions.conftest import make_tracker
from tests.bot.actions.test_filing import REPORT


@pytest.mark.parametrize("missing", ["privacy", "description", "report_type", "report_confirmed"])
async def test_a_submit_reached_with_an_answer_missing_files_nothing_and_continues_the_form(
        database, dispatcher, domain, missing):
    # Issue 13, D2: a lost action call once let Rasa submit an empty form ("privacy None").
    slots = {**REPORT, missing: None}

    events = await ActionSubmitReport().run(dispatcher, make_tracker(slots, active_loop=None), domain)

    with database.session() as session:
        assert session.execute(select(func.count()).select_from(Report)).scalar_one() == 0
    assert events == [SlotSet("report_confirmed", None), FollowupAction("report_form")]
    assert all(message.get("response") != "utter_submitted" for message in dispatcher.messages)
