"""A fixed-order all-reduce of combine.py results between tasks, over TCP sockets.

P tasks (ranks 0..P-1) each hold one result ({"sum": {...}, "max": {...}}, combine.py) and
all end with the same total, tree_combine(results in rank order, fan_in), bit for bit the
total LocalEngine computes from the same P shards, with no driver in between:

    1. reduce-scatter: every array entry is cut into P slices of its flattened elements,
       slice s = [size * s // P, size * (s + 1) // P); rank r sends slice s of each array to
       rank s, with its numbers ("sum" scalars and "max" entries) and the arrays' shapes;
       rank s combines the P pieces of its slice with tree_combine in rank order.
    2. all-gather: rank s sends its combined slices to every rank; each rank joins the P
       slices of every array in order.

Addition is elementwise, so slice s of the tree's total is the tree's total of slice s; the
numbers reach every rank and every rank combines them in the same tree. Each rank does 1/P
of the additions and sends about 2 (P - 1) / P times its result's bytes.

Mesh: one TCP connection per pair of ranks (the higher rank connects to the lower), opened
once per job with a handshake carrying the job's random token, so a stranger on the port is
refused. Messages are length-prefixed lamina.distributed.wire encodings (NumPy arrays and
numbers; no pickle); each exchange sends on one thread per peer, so no pair waits for
another. A closed connection, a socket error or a peer silent for `timeout` seconds is a
DistributedError that names the peer.

>>> import threading
>>> listeners = [listen("127.0.0.1") for _ in range(2)]
>>> addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in listeners]
>>> parts = [{"sum": {"g": np.array([1.0, 2.0, 3.0]), "rows": 2}, "max": {"t": r}}
...          for r in range(2)]
>>> totals = [None, None]
>>> def task(rank):
...     with Mesh(rank, addresses, listeners[rank], token="t0", timeout=30) as mesh:
...         totals[rank] = allreduce(mesh, parts[rank], fan_in=8)
>>> threads = [threading.Thread(target=task, args=(r,)) for r in range(2)]
>>> _ = [t.start() for t in threads]; _ = [t.join() for t in threads]
>>> totals[1]["sum"]["g"].tolist(), totals[1]["sum"]["rows"], totals[0]["max"]["t"]
([2.0, 4.0, 6.0], 4, 1)
"""

import socket
import struct
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from lamina.distributed.combine import tree_combine
from lamina.distributed.wire import decode, encode
from lamina.errors import DistributedError

__all__ = ["Mesh", "allreduce", "listen", "slice_bounds"]

_LENGTH = struct.Struct("!Q")
_HELLO = struct.Struct("!32sI")  # the job's token (padded), the sender's rank


def listen(host=""):
    """A listening TCP socket on a free port of `host` ("" = every interface)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(128)
    return listener


def slice_bounds(size, ranks):
    """Start offsets of the `ranks` slices of a flattened array of `size` elements, and size."""
    return np.arange(ranks + 1, dtype=np.int64) * size // ranks


def _token_bytes(token):
    return str(token).encode("utf-8")[:32].ljust(32, b"\0")


class Mesh:
    """The connections of task `rank` to every other task of a job.

    addresses: "host:port" of every rank's listener, in rank order (BarrierTaskContext's
    allGather); listener: this rank's, already listening (it is closed with the mesh).
    """

    def __init__(self, rank, addresses, listener, token, timeout):
        self.rank, self.addresses, self.timeout = rank, list(addresses), timeout
        self.size, self.peers = len(self.addresses), {}
        self._token = _token_bytes(token)
        self._senders = ThreadPoolExecutor(max(1, self.size - 1))
        try:
            for peer in range(rank):  # the higher rank connects: the lower one is listening
                self._at(peer, "connect to", self._connect, peer)
            listener.settimeout(timeout)
            for _ in range(rank + 1, self.size):
                self._at(None, "accept a connection from", self._accept, listener)
        except BaseException:
            self.close()
            raise
        finally:
            listener.close()

    def _connect(self, peer):
        host, port = self.addresses[peer].rsplit(":", 1)
        connection = socket.create_connection((host, int(port)), timeout=self.timeout)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(_HELLO.pack(self._token, self.rank))
        self.peers[peer] = connection

    def _accept(self, listener):
        connection, _ = listener.accept()
        connection.settimeout(self.timeout)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        token, peer = _HELLO.unpack(_receive_exactly(connection, _HELLO.size))
        if token != self._token or not self.rank < peer < self.size or peer in self.peers:
            connection.close()
            raise DistributedError(f"barrier all-reduce: task {self.rank} of {self.size} was "
                                   f"contacted by a stranger (wrong job token or rank {peer})")
        self.peers[peer] = connection

    def _at(self, peer, action, function, *args):
        """function(*args); a socket failure becomes a DistributedError naming the peer."""
        try:
            return function(*args)
        except (OSError, EOFError) as error:  # socket.timeout is an OSError
            who = "a peer" if peer is None else f"task {peer} ({self.addresses[peer]})"
            kind = "no answer within the timeout" if isinstance(error, TimeoutError) else \
                f"{type(error).__name__}: {error}"
            raise DistributedError(
                f"barrier all-reduce: task {self.rank} of {self.size} could not {action} "
                f"{who}: {kind} (timeout {self.timeout} s). A task of the job died or hangs; "
                f"Spark retries the whole barrier job from the weights it started with."
            ) from error

    def exchange(self, messages):
        """Send messages[peer] to every peer, receive one from each: {peer: message}."""
        sends = [self._senders.submit(self._at, peer, "send to", _send, self.peers[peer],
                                      messages[peer]) for peer in sorted(self.peers)]
        received = {peer: self._at(peer, "receive from", _receive, self.peers[peer])
                    for peer in sorted(self.peers)}
        for send in sends:
            send.result()
        return received

    def close(self):
        for connection in self.peers.values():
            connection.close()
        self.peers = {}
        self._senders.shutdown(wait=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _send(connection, message):
    data = encode(message)
    connection.sendall(_LENGTH.pack(len(data)))
    connection.sendall(data)


def _receive_exactly(connection, count):
    buffer = bytearray(count)
    view, done = memoryview(buffer), 0
    while done < count:
        got = connection.recv_into(view[done:])
        if got == 0:
            raise EOFError("the connection was closed")
        done += got
    return buffer


def _receive(connection):
    length, = _LENGTH.unpack(_receive_exactly(connection, _LENGTH.size))
    return decode(_receive_exactly(connection, length))


def _pieces(result, ranks):
    """(numbers, shapes, [slices for rank s]) of one rank's result."""
    arrays = {key: value for key, value in result["sum"].items()
              if isinstance(value, np.ndarray)}
    numbers = {"sum": {key: value for key, value in result["sum"].items() if key not in arrays},
               "max": dict(result["max"])}
    shapes = {key: value.shape for key, value in arrays.items()}
    flat = {key: np.ascontiguousarray(value).reshape(-1) for key, value in arrays.items()}
    bounds = {key: slice_bounds(value.size, ranks) for key, value in flat.items()}
    slices = [{key: value[bounds[key][s]:bounds[key][s + 1]] for key, value in flat.items()}
              for s in range(ranks)]
    return numbers, shapes, slices


def allreduce(mesh, result, fan_in):
    """tree_combine of every rank's result in rank order (see the module docstring)."""
    rank, ranks = mesh.rank, mesh.size
    numbers, shapes, slices = _pieces(result, ranks)
    outgoing = {peer: {"numbers": numbers, "shapes": shapes, "slice": slices[peer]}
                for peer in mesh.peers}
    incoming = mesh.exchange(outgoing)
    incoming[rank] = {"numbers": numbers, "shapes": shapes, "slice": slices[rank]}
    ordered = [incoming[r] for r in range(ranks)]
    total = tree_combine([piece["numbers"] for piece in ordered], fan_in)
    mine = tree_combine([{"sum": piece["slice"], "max": {}} for piece in ordered],
                        fan_in)["sum"]
    all_shapes = {}
    for piece in ordered:
        all_shapes.update(piece["shapes"])
    gathered = mesh.exchange({peer: mine for peer in mesh.peers})
    gathered[rank] = mine
    for key, shape in all_shapes.items():
        total["sum"][key] = np.concatenate([gathered[s][key] for s in range(ranks)]).reshape(
            shape)
    return total
