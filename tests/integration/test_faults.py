"""Crash safety of the history projector: SIGKILL mid-stream loses and
doubles nothing, because offsets commit with the rows."""
import signal
import threading
import time


def test_projector_sigkill_midstream_loses_and_doubles_nothing(api, stack):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent, errors = [], []

    def sender():
        for i in range(300):
            try:
                sent.append(alice.send(conv["id"], f"k{i}", client_msg_id=f"k{i}"))
            except AssertionError as e:  # a 429 would be a test bug, not a pass
                errors.append(str(e))

    t = threading.Thread(target=sender)
    t.start()
    proj = stack.handle("projector")
    for _ in range(3):
        time.sleep(0.4)
        old = proj.pid
        proj.kill(signal.SIGKILL)
        assert proj.wait_restarted(old, 60)
    t.join(120)
    assert not errors, errors[:3]
    assert proj.wait_ready(60)
    last = max(sent, key=lambda s: int(s["position"].split(".o")[1]))["position"]
    msgs = alice.all_messages(conv["id"], min_position=last)
    texts = [m["text"] for m in msgs]
    assert texts == [f"k{i}" for i in range(300)]
    assert len({m["id"] for m in msgs}) == 300
