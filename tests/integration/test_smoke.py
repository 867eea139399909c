from conftest import invoke, load_event, reply


def test_ping(database):
    r = reply(invoke("ping", load_event("ping")))
    assert (r.status, r.body) == (200, "pong")
    assert r.headers["Content-Type"] == "text/plain"


def test_list(people_db):
    r = reply(invoke("list_people", load_event("list_people")))
    assert r.status == 200, r.body
    print(r.json)
