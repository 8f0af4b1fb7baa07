"""A real HTTP client (Python's urllib and raw sockets) against
`engine-run serve`, for tests/test_serve.c. Standard library only.

    serve_client.py api EXPECT.json      routes, errors, 16 concurrent mixed
                                         requests, clients that disconnect
    serve_client.py auth EXPECT.json     --api-auth and --max-body
    serve_client.py load EXPECT.json N   N concurrent clip interrogations:
                                         per-image time, png-info latency
    serve_client.py soak EXPECT.json N [PID]  N requests one after another
                                         (and the server's RSS)

EXPECT.json: {"port", "images": [{"path", "info", "clip", "booru"}]}, the
expected values taken from the CLI's own runs by the C test. Prints one
line per check, "ok NAME" or "FAIL NAME: why", and "note ..." lines for
measurements; the C test counts them."""
import base64
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(name, cond, why=""):
    say(("ok " + name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


def request(port, route, body=None, auth=None, method=None, timeout=900):
    """(status, parsed JSON or raw text, headers)."""
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, route), data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, headers = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, headers = e.code, e.read(), e.headers
    try:
        return status, json.loads(raw.decode()), headers
    except ValueError:
        return status, raw, headers


def b64(path, data_url=False):
    with open(path, "rb") as f:
        text = base64.b64encode(f.read()).decode()
    return "data:image/png;base64," + text if data_url else text


def is_error(status, body, want):
    return status == want and isinstance(body, dict) and isinstance(body.get("error"), str) and \
        isinstance(body.get("detail"), str)


def interrogate(port, image, model, auth=None):
    return request(port, "/sdapi/v1/interrogate", {"image": image, "model": model}, auth)


def check_image(port, im, i):
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": b64(im["path"])})
    check("png-info %d status" % i, st == 200, st)
    check("png-info %d info equals `engine-run info`" % i, isinstance(body, dict) and body.get("info") == im["info"],
          repr(body)[:300])
    check("png-info %d items and parameters are objects" % i,
          isinstance(body, dict) and isinstance(body.get("items"), dict) and isinstance(body.get("parameters"), dict))
    items = body.get("items", {}) if isinstance(body, dict) else {}
    check("png-info %d items leave the parameters out" % i, im["info"] == "" or im["info"] not in items.values(),
          repr(items)[:200])
    if im["info"] and "Negative prompt:" in im["info"]:
        params = body.get("parameters", {})
        check("png-info %d parameters: the prompt is the info's first line" % i,
              params.get("Prompt") == im["info"].split("\nNegative prompt:")[0], repr(params)[:200])
    for model, key in (("clip", "clip"), ("deepdanbooru", "booru")):
        st, body, _ = interrogate(port, b64(im["path"], data_url=(i % 2 == 1)), model)
        check("interrogate %s %d equals `engine-run %s`" % (model, i, key),
              st == 200 and isinstance(body, dict) and body.get("caption") == im[key], "%s %r" % (st, body))


def check_errors(port, image):
    st, body, _ = request(port, "/internal/ping")
    check("ping 200", st == 200, st)
    st, body, h = request(port, "/")
    check("page: html", st == 200 and b"<html" in body.lower() and "text/html" in h.get("Content-Type", ""), st)
    cases = [
        ("malformed JSON", "/sdapi/v1/png-info", b'{"image": ', 400),
        ("not an object", "/sdapi/v1/interrogate", b'["x"]', 422),
        ("bad base64", "/sdapi/v1/png-info", {"image": "not*base64"}, 400),
        ("bad base64 (interrogate)", "/sdapi/v1/interrogate", {"image": "abcde", "model": "clip"}, 400),
        ("truncated padding", "/sdapi/v1/png-info", {"image": "QQ="}, 400),
        ("URL images are not fetched", "/sdapi/v1/png-info", {"image": "http://example.com/a.png"}, 400),
        ("undecodable image (png-info)", "/sdapi/v1/png-info", {"image": base64.b64encode(b"hello").decode()}, 400),
        ("undecodable image (clip)", "/sdapi/v1/interrogate", {"image": base64.b64encode(b"hello").decode()}, 400),
        ("image missing", "/sdapi/v1/interrogate", {"model": "clip"}, 404),
        ("image not a string", "/sdapi/v1/interrogate", {"image": 12}, 422),
        ("unknown model", "/sdapi/v1/interrogate", {"image": image, "model": "blip2"}, 404),
        ("unknown route", "/sdapi/v1/txt2img", {"prompt": "x"}, 404),
    ]
    for name, route, body, want in cases:
        st, reply, _ = request(port, route, body)
        check("error: " + name, is_error(st, reply, want), "%s %r" % (st, reply))
    st, reply, _ = request(port, "/sdapi/v1/png-info", method="GET")
    check("error: GET on a POST route is 405", is_error(st, reply, 405), st)
    st, reply, _ = request(port, "/sdapi/v1/interrogate", {"image": image})
    check("model defaults to clip", st == 200 and "caption" in reply, st)


def concurrent_mixed(port, images, n=16):
    """n requests at once, png-info and both models over the images."""
    results, barrier = [None] * n, threading.Barrier(n)

    def one(k):
        im, kind = images[k % len(images)], ("clip", "deepdanbooru", "png-info")[k % 3]
        barrier.wait()
        if kind == "png-info":
            st, body, _ = request(port, "/sdapi/v1/png-info", {"image": b64(im["path"])})
            results[k] = (st == 200 and body.get("info") == im["info"], kind, st, body)
        else:
            st, body, _ = interrogate(port, b64(im["path"]), kind)
            want = im["clip" if kind == "clip" else "booru"]
            results[k] = (st == 200 and body.get("caption") == want, kind, st, body)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, r in enumerate(results):
        check("concurrent request %d (%s) equals the CLI" % (k, r[1] if r else "?"), r and r[0], repr(r)[:300])


def raw_send(port, head, body, read_reply):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(head + body)
    reply = s.recv(65536) if read_reply else b""
    s.close()
    return reply


def disconnects(port, image):
    """Clients that go away: mid-body, and while their interrogation waits."""
    full = json.dumps({"image": image, "model": "clip"}).encode()
    head = b"POST /sdapi/v1/interrogate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw_send(port, head + b"Content-Length: %d\r\n\r\n" % len(full), full[: len(full) // 2], False)
    for _ in range(4):
        raw_send(port, head + b"Content-Length: %d\r\n\r\n" % len(full), full, False)
    st, _, _ = request(port, "/internal/ping")
    check("disconnects: ping still answers", st == 200, st)
    st, body, _ = interrogate(port, image, "clip")
    check("disconnects: interrogate still answers", st == 200 and "caption" in body, "%s %r" % (st, body))


def mode_api(exp):
    port, images = exp["port"], exp["images"]
    for i, im in enumerate(images):
        check_image(port, im, i)
    check_errors(port, b64(images[0]["path"]))
    concurrent_mixed(port, images)
    disconnects(port, b64(images[0]["path"]))


def mode_auth(exp):
    port, image = exp["port"], b64(exp["images"][0]["path"])
    st, body, h = request(port, "/sdapi/v1/png-info", {"image": image})
    check("auth: no credentials is 401", is_error(st, body, 401) and "Basic" in h.get("WWW-Authenticate", ""), st)
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth="alice:wrong")
    check("auth: a wrong password is 401", is_error(st, body, 401), st)
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth="alice:secreT")
    check("auth: a wrong password of the right length is 401", is_error(st, body, 401), st)
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth="alice")
    check("auth: no colon is 401", is_error(st, body, 401), st)
    st, body, _ = request(port, "/", auth=None)
    check("auth: the page needs credentials too", st == 401, st)
    for cred in ("alice:secret", "bob:pa:ss"):
        st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth=cred)
        check("auth: %s is let in" % cred.split(":")[0], st == 200 and body.get("info") == exp["images"][0]["info"], st)
    st, _, _ = request(port, "/internal/ping")
    check("auth: ping needs none", st == 200, st)
    big = {"image": "A" * (exp["max_body"] + 10)}
    st, body, _ = request(port, "/sdapi/v1/png-info", big, auth="alice:secret")
    check("max-body: a larger body is 413", is_error(st, body, 413), st)
    # a chunked body declares no length: refused once it grows past the limit
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    cred = base64.b64encode(b"alice:secret")
    s.sendall(b"POST /sdapi/v1/png-info HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + cred +
              b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"A" * 4096
    for _ in range(exp["max_body"] // 4096 + 2):
        s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    s.sendall(b"0\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    check("max-body: a chunked body past the limit is 413", reply.startswith(b"HTTP/1.1 413"), reply[:40])
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth="alice:secret")
    check("max-body: the next request is served", st == 200, st)
    # bodies held at once are bounded: 8 x --max-body for all requests together
    size, holders = exp["max_body"] - 1000, []
    for _ in range(9):
        h = socket.create_connection(("127.0.0.1", port), timeout=30)
        h.sendall(b"POST /sdapi/v1/png-info HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + cred +
                  b"\r\nContent-Length: %d\r\n\r\n" % size + b"A" * (size - 5000))
        holders.append(h)
    time.sleep(0.3)
    filler = {"image": base64.b64encode(b"x" * ((size - 100) * 3 // 4)).decode()}
    st, body, _ = request(port, "/sdapi/v1/png-info", filler, auth="alice:secret")
    check("body budget: past 8 bodies in hand, 503", is_error(st, body, 503), "%s %r" % (st, body))
    for h in holders:
        h.close()
    time.sleep(0.3)
    st, body, _ = request(port, "/sdapi/v1/png-info", {"image": image}, auth="alice:secret")
    check("body budget: freed when the clients go", st == 200, st)


def clip_burst(port, image, want, n, during=None):
    """n clip interrogations at once; (wall seconds, all equal to want).
    during(): called over and over until they are all answered."""
    done, ok = [], [True]

    def one():
        st, body, _ = interrogate(port, image, "clip")
        ok[0] &= st == 200 and isinstance(body, dict) and body.get("caption") == want
        done.append(time.monotonic())

    threads = [threading.Thread(target=one) for _ in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while during and len(done) < n:
        during()
    for t in threads:
        t.join()
    return max(done) - t0, ok[0]


def mode_load(exp, n):
    """n concurrent clip interrogations, timed alone (after a warm-up burst
    that loads every worker's models); then again with a png-info of
    exp["info_image"] (default the first image) every 20 ms, timed."""
    port, im = exp["port"], exp["images"][0]
    image = b64(im["path"])
    info_body = {"image": b64(exp.get("info_image", im["path"]))}
    clip_burst(port, image, im["clip"], n)
    wall, ok = clip_burst(port, image, im["clip"], n)
    check("load: %d concurrent clip interrogations equal the CLI" % n, ok)
    say("note load: %d concurrent clip: %.1f ms wall, %.2f ms per image" % (n, wall * 1e3, wall * 1e3 / n))
    lat = []

    def info():
        a = time.monotonic()
        request(port, "/sdapi/v1/png-info", info_body)
        lat.append((time.monotonic() - a) * 1e3)
        time.sleep(0.02)

    wall, ok = clip_burst(port, image, im["clip"], n, during=info)
    lat.sort()
    check("load: png-info answered while they ran", ok and len(lat) > 0)
    if lat:
        say("note load: png-info under load: %d requests, median %.2f ms, 90%% %.2f ms, max %.2f ms "
            "(clip burst %.1f ms per image meanwhile)" % (len(lat), lat[len(lat) // 2], lat[len(lat) * 9 // 10],
                                                          lat[-1], wall * 1e3 / n))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def mode_soak(exp, n, pid):
    """n requests one after another: ping, png-info and both models in
    turn; the server's RSS every n/10 requests."""
    port, images = exp["port"], exp["images"]
    bodies = [{"image": b64(im["path"])} for im in images]
    bad, rss = 0, []
    for k in range(n):
        im, body = images[k % len(images)], bodies[k % len(bodies)]
        kind = k % 4
        if kind == 0:
            st, _, _ = request(port, "/internal/ping")
        elif kind == 1:
            st, reply, _ = request(port, "/sdapi/v1/png-info", body)
            st = st if reply.get("info") == im["info"] else -1
        else:
            model = "clip" if kind == 2 else "deepdanbooru"
            st, reply, _ = interrogate(port, body["image"], model)
            st = st if reply.get("caption") == im["clip" if kind == 2 else "booru"] else -1
        bad += st != 200
        if pid and (k + 1) % max(n // 10, 1) == 0:
            rss.append(rss_kb(pid))
    check("soak: %d requests all answered as the CLI" % n, bad == 0, "%d failed" % bad)
    if rss:
        say("note soak: RSS (MB) every %d requests: %s" % (max(n // 10, 1), " ".join("%.1f" % (r / 1024) for r in rss)))


def main():
    mode, exp = sys.argv[1], json.load(open(sys.argv[2]))
    if mode == "api":
        mode_api(exp)
    elif mode == "auth":
        mode_auth(exp)
    elif mode == "load":
        mode_load(exp, int(sys.argv[3]))
    elif mode == "soak":
        mode_soak(exp, int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        say("FAIL usage: unknown mode " + mode)


if __name__ == "__main__":
    main()
