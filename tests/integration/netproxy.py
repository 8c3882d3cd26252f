"""A TCP proxy for fault tests: 127.0.0.1:listen_port -> 127.0.0.1:target,
run by asyncio on a thread of its own. While delay_s is set every chunk is
held that long before it is forwarded (both directions, order kept);
drop() aborts every open connection (both sides see a reset) and can
refuse new ones for a while, as a broken network path would."""
import asyncio
import threading
import time


class FaultProxy:
    def __init__(self, target_port, listen_port, host="127.0.0.1"):
        self.host, self.target, self.port = host, target_port, listen_port
        self.delay_s = 0.0
        self.accepted = self.dropped = self.refused = 0
        self._refuse_until = 0.0
        self._conns = {}  # id -> [client writer, upstream writer, pipe tasks]
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"proxy-{listen_port}")

    def start(self):
        self._thread.start()
        assert self._started.wait(10), "proxy did not start"
        return self

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, self.host, self.port, reuse_address=True))
        self._started.set()
        self._loop.run_forever()

    async def _accept(self, reader, writer):
        if time.monotonic() < self._refuse_until:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.target)
        except OSError:
            writer.transport.abort()
            return
        self.accepted += 1
        conn = [writer, up_w, []]
        conn[2] = [asyncio.ensure_future(self._pipe(reader, up_w, conn)),
                   asyncio.ensure_future(self._pipe(up_r, writer, conn))]
        self._conns[id(conn)] = conn

    async def _pipe(self, reader, writer, conn):
        """Reads chunks and forwards each one delay_s after it arrived."""
        queue = asyncio.Queue()

        async def forward():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        fwd = asyncio.ensure_future(forward())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                queue.put_nowait((time.monotonic() + self.delay_s, data))
            queue.put_nowait((0, None))
            await fwd
        except (OSError, asyncio.CancelledError):
            fwd.cancel()
        finally:
            self._close(conn)

    def _close(self, conn):
        for w in conn[:2]:
            w.transport.abort()
        self._conns.pop(id(conn), None)

    def _drop_all(self, refuse_s):
        self._refuse_until = time.monotonic() + refuse_s
        for conn in list(self._conns.values()):
            self.dropped += 1
            for t in conn[2]:
                t.cancel()
            self._close(conn)

    def drop(self, refuse_s=0.0):
        """Resets every open connection; refuses new ones for refuse_s."""
        done = threading.Event()

        def go():
            self._drop_all(refuse_s)
            done.set()
        self._loop.call_soon_threadsafe(go)
        assert done.wait(10)

    def stats(self):
        return {"accepted": self.accepted, "dropped": self.dropped, "refused": self.refused}

    def stop(self):
        self.drop()

        def shut():
            self._server.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(shut)
        self._thread.join(10)
