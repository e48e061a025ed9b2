"""The live output records (SPEC §4 "Live metrics"): queue live and agent live."""

from __future__ import annotations

from typing import Optional

from udfs.live.messages import AgentView
from udfs.live.queue_gauges import Gauges
from udfs.output_records import window_key_iso
from udfs.timestamps import format_iso_ms


def _iso_or_none(ms: Optional[int]) -> Optional[str]:
    return None if ms is None else format_iso_ms(ms)


def queue_live_record(queue_arn: str, channel: str, queue_name: Optional[str], tick: int,
                      g: Gauges) -> dict:
    a = g.agents
    return {
        "key": f"{queue_arn}|{channel}",
        "as_of": window_key_iso(tick),
        "queue_arn": queue_arn,
        "queue_name": queue_name,
        "channel": channel,
        "contacts_in_queue": g.contacts_in_queue,
        "oldest_contact_age": (None if g.oldest_enqueue_ms is None
                               else (tick - g.oldest_enqueue_ms) / 1000),
        "agents_online": a.online,
        "agents_staffed": a.staffed,
        "agents_available": a.available,
        "agents_on_contact": a.on_contact,
        "agents_non_productive": a.non_productive,
        "agents_after_contact_work": a.after_contact_work,
        "agents_error": a.error,
        "slots_active": a.slots_active,
        "slots_available": a.slots_available,
    }


def agent_live_record(agent_arn: str, tick: int, v: AgentView) -> dict:
    return {
        "key": agent_arn,
        "as_of": window_key_iso(tick),
        "agent_arn": agent_arn,
        "username": v.username,
        "routing_profile": v.routing_profile,
        "hierarchy": list(v.hierarchy) if v.hierarchy else None,
        "status": v.status,
        "status_type": v.status_type,
        "status_since": _iso_or_none(v.status_since_ms),
        "activity": v.activity,
        "online": v.online,
        "contacts": [{"contact_id": cid, "channel": channel, "state": state,
                      "state_since": _iso_or_none(since), "queue_arn": queue}
                     for cid, channel, state, since, queue in v.contacts],
    }
