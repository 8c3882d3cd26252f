"""History survives a restart of the whole stack (runs last: it stops
everything and starts it again from the same data directory)."""


def test_history_readable_after_full_restart(api, stack):
    alice, bob = api.user(), api.user()
    conv = alice.direct_with(bob)
    sent = [alice.send(conv["id"], f"durable {i}") for i in range(5)]
    before = alice.all_messages(conv["id"], min_position=sent[-1]["position"])
    stack.stop_all()
    stack.start_all()
    assert stack.all_ready(), stack.not_ready()
    # Access tokens are verified locally and the keys persist: no re-login.
    after = alice.all_messages(conv["id"])
    assert after == before
    more = bob.send(conv["id"], "after restart")
    assert bob.history(conv["id"], min_position=more["position"])["messages"][-1]["text"] \
        == "after restart"
