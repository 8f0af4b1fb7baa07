"""The page of `engine-run serve` in a real browser, for tests/test_serve.c:
Debian's chromium, headless, driven through the DevTools protocol over
--remote-debugging-pipe (JSON messages ended by NUL on fds 3 and 4, so no
WebSocket client is needed). Standard library only.

    serve_browser.py EXPECT.json PROFILE_DIR

Opens http://127.0.0.1:PORT/, puts an image into the file input (as a
person picking a file), waits for its PNG Info, presses Copy, Interrogate
CLIP, Interrogate DeepBooru and Both, and compares what the page shows with
the CLI's outputs in EXPECT.json. Prints "ok NAME" / "FAIL NAME: why" lines;
"skip REASON" when chromium cannot start here."""
import json
import os
import select
import shutil
import subprocess
import sys
import time


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check(name, cond, why=""):
    say(("ok " + name) if cond else ("FAIL %s: %s" % (name, why)))
    return cond


class Browser:
    def __init__(self, profile):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            raise OSError("chromium is not installed (tools/install-deps installs it)")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():  # in the child: fd 3 reads our commands, fd 4 carries replies
            high_r, high_w = os.dup(to_chrome_r), os.dup(from_chrome_w)  # neither is clobbered by the other
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.set_inheritable(3, True)  # dup2 onto itself would keep close-on-exec
            os.set_inheritable(4, True)

        args = [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + profile, "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "..", "chromium.log"), "wb"))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.pending, self.next_id, self.session = b"", 0, None

    def send(self, method, params=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for reply in self.read(end - time.monotonic()):
                if reply.get("id") == self.next_id:
                    if "error" in reply:
                        raise RuntimeError("%s: %s" % (method, reply["error"]))
                    return reply.get("result", {})
        raise TimeoutError(method)

    def read(self, timeout):
        ready, _, _ = select.select([self.from_chrome], [], [], max(timeout, 0))
        if not ready:
            return []
        chunk = os.read(self.from_chrome, 1 << 20)
        if not chunk:
            raise OSError("chromium closed the pipe (it exited)")
        self.pending += chunk
        *done, self.pending = self.pending.split(b"\0")
        return [json.loads(m) for m in done if m]

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        return r.get("result", {}).get("value")

    def wait_for(self, expr, timeout=60):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.05)
        return None

    def close(self):
        try:
            self.session = None
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def open_page(b, url):
    target = b.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    b.session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    b.send("Page.enable")
    b.send("Runtime.enable")
    b.send("Page.navigate", {"url": url})
    return b.wait_for("document.readyState === 'complete' && !!document.getElementById('clip')", 30)


def choose_file(b, path):
    root = b.send("DOM.getDocument")["root"]["nodeId"]
    node = b.send("DOM.querySelector", {"nodeId": root, "selector": "#file"})["nodeId"]
    b.send("DOM.setFileInputFiles", {"nodeId": node, "files": [path]})


def press(b, button, want, name):
    """Press a button; wait for the prompt and check it."""
    b.eval("document.getElementById('%s').click()" % button)
    done = b.wait_for("document.getElementById('status').textContent.startsWith('done') || "
                      "document.getElementById('status').textContent.startsWith('error')")
    got = b.eval("document.getElementById('prompt').value")
    check("page: %s shows the CLI's prompt" % name, done and got == want, "%r / %r" % (done, got))


def run(exp, profile):
    port, im = exp["port"], exp["images"][0]
    try:
        b = Browser(profile)
        loaded = open_page(b, "http://127.0.0.1:%d/" % port)
    except (OSError, RuntimeError, TimeoutError) as e:
        say("skip chromium cannot run here: %s" % e)
        return
    try:
        check("page: loads", loaded)
        check("page: no external assets", b.eval(
            "[...document.querySelectorAll('[src],[href]')].every(e => !/^(https?:)?\\/\\//.test("
            "e.getAttribute('src') || e.getAttribute('href')))"))
        choose_file(b, im["path"])
        info = b.wait_for("(t => t && !t.startsWith('reading') && t !== '(no image yet)' && t)"
                          "(document.getElementById('info').textContent)")
        check("page: PNG Info equals `engine-run info`", info == im["info"], repr(info)[:200])
        # headless chromium keeps no clipboard to read back: record what the
        # button hands the Clipboard API instead
        b.eval("navigator.clipboard.writeText = (t) => { window.copiedText = t; return Promise.resolve(); }")
        b.eval("document.getElementById('copy').click()")
        copied = b.wait_for("document.getElementById('copy-status').textContent === 'copied'", 10)
        check("page: Copy reports the copy", copied)
        check("page: Copy hands the PNG Info to the clipboard", b.eval("window.copiedText") == im["info"])
        press(b, "clip", im["clip"], "Interrogate CLIP")
        press(b, "booru", im["booru"], "Interrogate DeepBooru")
        press(b, "both", im["clip"] + ", " + im["booru"], "Both")
        check("page: buttons enabled again", b.eval("!document.getElementById('both').disabled"))
    finally:
        b.close()


def main():
    run(json.load(open(sys.argv[1])), sys.argv[2])


if __name__ == "__main__":
    main()
