"""`make demo` never dies on a port another program holds: helpers get free ports, and a taken
main port gives a clear message instead of a crash."""

import socket

from backend import demo


def test_a_taken_main_port_is_reported_clearly(monkeypatch, capsys):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("PORT", str(port))
        monkeypatch.setattr("sys.argv", ["demo"])
        assert demo.main() == 1
    err = capsys.readouterr().err
    assert f"Port {port} is already in use" in err
    assert "PORT=8080 make demo" in err


def test_the_stripe_stand_in_gets_a_free_port_unless_configured(monkeypatch):
    monkeypatch.delenv("STRIPE_API_BASE", raising=False)
    demo.helper_ports()
    import os

    chosen = int(os.environ["STRIPE_API_BASE"].rsplit(":", 1)[1])
    assert not demo.port_taken(chosen)
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9999")
    demo.helper_ports()
    assert os.environ["STRIPE_API_BASE"] == "http://127.0.0.1:9999"
