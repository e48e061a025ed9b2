"""Contact routing: queues of waiting contacts matched to agents, as Connect's router does.

A contact goes to the routable agent who has been idle longest among those whose routing
profile serves its queue and channel; a freed agent takes the longest-waiting contact among its
queues (its own agent queue included). Voice takes the agent's single slot; chats share up to
the profile's chat concurrency, never mixed with voice.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Optional

from tools.sim.center import Queue
from tools.sim.truth import Segment

if TYPE_CHECKING:
    from tools.sim.agents import AgentRuntime

Entry = tuple[int, int, Segment]  # (enqueue ms, arrival order, segment)


class Router:
    """Waiting contacts per queue, in enqueue order, and which agents serve each queue."""

    def __init__(self, agents: list[AgentRuntime]):
        self._waiting: dict[str, list[Entry]] = defaultdict(list)
        self._entries: dict[str, Entry] = {}
        self._servers: dict[str, list[AgentRuntime]] = defaultdict(list)
        self._seq = 0
        self.on_offer: Optional[Callable[[Segment, AgentRuntime], None]] = None
        for agent in agents:
            self._index(agent)

    def _index(self, agent: AgentRuntime) -> None:
        for queue in agent.profile.queues:
            servers = self._servers[queue.arn]
            servers.append(agent)
            servers.sort(key=lambda a: a.index)
        self._servers[agent.ident.agent_queue.arn] = [agent]

    def reindex(self, agent: AgentRuntime) -> None:
        """The agent's routing profile changed: it now serves other queues."""
        for servers in self._servers.values():
            if agent in servers:
                servers.remove(agent)
        self._index(agent)

    def waiting_count(self) -> int:
        return len(self._entries)

    def enqueue(self, seg: Segment) -> None:
        """Put (or put back, after a missed offer) a contact in its queue, in enqueue order."""
        assert seg.queue is not None and seg.enqueue_ms is not None
        self._seq += 1
        entry = (seg.enqueue_ms, self._seq, seg)
        self._entries[seg.contact_id] = entry
        bisect.insort(self._waiting[seg.queue.arn], entry)
        self._route_queue(seg.queue)

    def remove(self, seg: Segment) -> None:
        entry = self._entries.pop(seg.contact_id)
        assert seg.queue is not None
        waiting = self._waiting[seg.queue.arn]
        del waiting[bisect.bisect_left(waiting, entry)]

    def _offer(self, seg: Segment, agent: AgentRuntime) -> None:
        self.remove(seg)
        assert self.on_offer is not None
        self.on_offer(seg, agent)

    def _route_queue(self, queue: Queue) -> None:
        waiting = self._waiting[queue.arn]
        servers = self._servers[queue.arn]
        blocked: set[str] = set()
        i = 0
        while i < len(waiting):
            seg = waiting[i][2]
            channel, cid = seg.channel, seg.contact_id
            best = None
            if channel not in blocked:
                # servers all serve this queue, and free_channels honours the profile's chat
                # slots, so this is can_take_contact() without the function calls
                for agent in servers:
                    if channel in agent.free_channels and cid not in agent.contacts and (
                            best is None or agent.idle_since < best.idle_since):
                        best = agent
            if best is None:
                blocked.add(channel)
                i += 1
                continue
            self._offer(seg, best)

    def agent_ready(self, agent: AgentRuntime) -> None:
        """Offer the agent the longest-waiting contacts it can take, until it is full."""
        queues = (agent.ident.agent_queue, *agent.profile.queues)
        while True:
            best: Optional[Entry] = None
            for queue in queues:
                for entry in self._waiting.get(queue.arn, ()):
                    if agent.can_take_contact(entry[2], queue):
                        if best is None or entry[:2] < best[:2]:
                            best = entry
                        break
            if best is None:
                return
            self._offer(best[2], agent)
