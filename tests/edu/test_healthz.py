"""GET /healthz: 200 when the database and the channel layer answer, 503 when one does not."""

import pytest

from edu import views


@pytest.mark.django_db
def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "channel_layer": True}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_channel_layer_down_is_503(client, monkeypatch):
    def broken():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(views, "_channel_layer_answers", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "channel_layer": False}


@pytest.mark.django_db
def test_database_down_is_503(client, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OSError("database is down")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] is False


@pytest.mark.django_db
def test_only_get(client):
    assert client.post("/healthz").status_code == 405
