"""The one HTTP client of ``geo fetch`` and ``geo refresh``.

Every request to police.uk, the ONS Open Geography Portal, Nomis or a
dwellings file goes through :class:`Client`:

* **timeouts** on connect and read, and a **deadline** per request: a
  service that cannot be reached fails within ``deadline`` seconds with a
  message naming the service, its address and the fix;
* **retries** with exponential back-off (0.5 s, 1 s, 2 s, ... capped at 8 s)
  on a dropped connection, a body cut short, 429 (waiting what
  ``Retry-After`` says) and 500/502/503/504 — except the statuses a caller
  declares as answers (police.uk's 503 means "more than 10,000 crimes",
  which is answered by splitting the polygon, not by asking again);
* a **rate limit** per service (a token bucket: police.uk documents 15
  requests a second with a burst of 30);
* a **cache on disk**: each answer is stored under the request's SHA-256
  once it is complete, so a second run with the same arguments makes no
  network call and an interrupted run resumes where it stopped;
* a **record** of every answer (address, parameters, status, bytes,
  SHA-256, when) for the workspace's provenance file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import requests

from geo.errors import GeoInputError

__all__ = [
    "Answer",
    "Client",
    "FetchError",
    "Service",
    "ServiceAnswerError",
    "TokenBucket",
]

#: Seconds to wait for a connection, and for each read of the body.
CONNECT_TIMEOUT: Final = 5.0
READ_TIMEOUT: Final = 30.0
#: Statuses asked again (after a back-off) unless the caller takes them as answers.
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})


class FetchError(GeoInputError):
    """A service could not be reached, or its answer cannot be used; the message says the fix."""


class ServiceAnswerError(FetchError):
    """A service answered a status the caller asked to handle itself (e.g. police.uk's 503).

    Attributes
    ----------
    status
        The HTTP status.
    """

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Service:
    """One remote service: its name for messages, base address and rate limit.

    Attributes
    ----------
    name
        What messages call it ("police.uk API").
    base_url
        Address every path is joined to (no trailing slash needed).
    option
        The parameter that sets ``base_url`` (``police_api``), named in messages.
    rate
        Requests per second allowed, or ``None`` for no limit.
    burst
        Requests allowed at once before the rate applies.

    Examples
    --------
    >>> Service("police.uk API", "https://data.police.uk/api/", "police_api").url("crimes-street-dates")
    'https://data.police.uk/api/crimes-street-dates'
    """

    name: str
    base_url: str
    option: str
    rate: float | None = None
    burst: int = 1

    def url(self, path: str) -> str:
        """Join ``path`` to the base address."""
        if path.startswith(("http://", "https://")):
            return path
        base = self.base_url.rstrip("/")
        return f"{base}/{path.lstrip('/')}" if path else base


@dataclass(frozen=True)
class Answer:
    """A service's answer as recorded for provenance.

    Attributes
    ----------
    service, url, method
        Who was asked, where and how.
    params
        The query (GET) or form (POST) parameters, as sent.
    status
        HTTP status of the answer used.
    size
        Bytes of its body.
    sha256
        Checksum of its body.
    fetched
        When it was fetched (UTC, ISO 8601); for a cached answer, when it
        was first fetched.
    cached
        Taken from the disk cache, no network call.
    body
        The body.
    """

    service: str
    url: str
    method: str
    params: Mapping[str, str]
    status: int
    size: int
    sha256: str
    fetched: str
    cached: bool
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """Read the body as JSON (a cut-off body raises :class:`FetchError`)."""
        return _json(self.body, self.service, self.url)

    def record(self) -> dict[str, Any]:
        """Return the answer without its body, for a provenance file."""
        return {
            "service": self.service,
            "url": self.url,
            "method": self.method,
            "params": dict(self.params),
            "status": self.status,
            "bytes": self.size,
            "sha256": self.sha256,
            "fetched": self.fetched,
        }


def _json(body: bytes, service: str, url: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        msg = (
            f"{service}: the answer from {url} is not complete JSON ({exc}; "
            f"{len(body):,} bytes). The connection may have been cut; run the command again."
        )
        raise FetchError(msg) from exc


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens a second, at most ``burst`` saved.

    Parameters
    ----------
    rate
        Tokens added per second.
    burst
        Capacity (and tokens at the start).
    clock, sleep
        Time source and sleep, replaceable in tests.

    Examples
    --------
    >>> now = [0.0]
    >>> waits = []
    >>> def sleep(s):
    ...     waits.append(round(s, 3))
    ...     now[0] += s
    >>> bucket = TokenBucket(15, 30, clock=lambda: now[0], sleep=sleep)
    >>> for _ in range(32):
    ...     bucket.take()
    >>> waits
    [0.067, 0.067]
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = float(rate)
        self.burst = float(max(burst, 1))
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hand out no token for ``seconds`` (a 429's ``Retry-After``, for every thread)."""
        with self._lock:
            self._tokens = min(self._tokens, 0.0) - seconds * self.rate

    def take(self) -> None:
        """Wait until a token is free, then take it."""
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(
                    self.burst, self._tokens + (now - self._last) * self.rate
                )
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)


@dataclass
class _Stats:
    requests: int = 0
    cached: int = 0
    bytes: int = 0
    retries: int = 0
    throttled: int = 0


class Client:
    """HTTP client with timeouts, retries, rate limits, a disk cache and a record.

    Parameters
    ----------
    cache
        Folder for cached answers (created when needed); ``None`` for no cache.
    deadline
        Seconds one request may take, retries included, before it fails.
    retries
        Attempts after the first.
    session
        A :class:`requests.Session` to use (a new one by default).
    sleep, clock
        Replaceable in tests.

    Notes
    -----
    Thread-safe: the record, the counters and each service's token bucket
    take a lock; :class:`requests.Session` is shared, as its connection pool is.
    """

    def __init__(
        self,
        cache: Path | None = None,
        *,
        deadline: float = 60.0,
        retries: int = 6,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.deadline = deadline
        self.retries = retries
        self._session = session or requests.Session()
        self._session.headers.setdefault("User-Agent", "hotspot-atlas-fetch")
        self._sleep = sleep
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.answers: list[Answer] = []
        self.stats = _Stats()

    # -- public -------------------------------------------------------------
    def get(
        self,
        service: Service,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        method: str = "GET",
        answers: Sequence[int] = (),
        cache: bool = True,
        max_age: float | None = None,
    ) -> Answer:
        """Ask ``service`` for ``path`` and return its answer.

        Parameters
        ----------
        service
            Who to ask.
        path
            Path under the service's base address (or a whole address).
        params
            Query parameters (GET) or form fields (POST).
        method
            ``"GET"`` or ``"POST"``.
        answers
            Statuses the caller handles itself: raised at once as
            :class:`ServiceAnswerError`, never retried.
        cache
            Use and fill the disk cache (``False`` for answers that change,
            such as the months police.uk has published).
        max_age
            Seconds a cached answer stays good (``None``: for ever).

        Returns
        -------
        Answer
            The answer (status 200).

        Raises
        ------
        FetchError
            The service could not be reached within the deadline, kept
            answering an error, or answered a status it should not.
        ServiceAnswerError
            It answered one of ``answers``.
        """
        url = service.url(path)
        query = {k: str(v) for k, v in (params or {}).items()}
        key = _cache_key(method, url, query)
        use_cache = cache and self.cache is not None
        if use_cache:
            hit = self._from_cache(service, url, method, query, key, max_age)
            if hit is not None:
                if hit.status in answers:
                    msg = f"{service.name}: {url} answered {hit.status} (cached)."
                    raise ServiceAnswerError(msg, hit.status)
                return hit
        answer = self._fetch(service, url, method, query, frozenset(answers))
        if use_cache:
            self._to_cache(answer, key)
        return answer

    def remember(
        self,
        service: Service,
        path: str,
        params: Mapping[str, str] | None,
        status: int,
        *,
        method: str = "GET",
    ) -> None:
        """Cache a status the caller handled (police.uk's 503 once its halves answered).

        Such answers are not cached when they arrive (an outage answers 503
        too); the caller remembers them once they proved to mean what it
        took them to mean, so that a second run asks nothing.
        """
        if self.cache is None:
            return
        url = service.url(path)
        query = {k: str(v) for k, v in (params or {}).items()}
        answer = self._keep(service, url, method, query, status, b"")
        self._to_cache(answer, _cache_key(method, url, query))

    def get_json(
        self,
        service: Service,
        path: str,
        params: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Like :meth:`get`, returning the body read as JSON.

        A body that is not complete JSON (a cut-off transfer) is asked for
        again, up to the retries, before it fails.
        """
        return self.get_json_answer(service, path, params, **kwargs)[0]

    def get_json_answer(
        self,
        service: Service,
        path: str,
        params: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, Answer]:
        """Like :meth:`get_json`, returning the answer too (to :meth:`forget` it)."""
        for attempt in range(self.retries + 1):
            answer = self.get(service, path, params, **kwargs)
            try:
                return answer.json(), answer
            except FetchError:
                self.forget(answer)
                if attempt == self.retries:
                    raise
                with self._lock:
                    self.stats.retries += 1
                self._sleep(min(0.5 * 2**attempt, 8.0))
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def records(self) -> list[dict[str, Any]]:
        """Every answer used, in order, without bodies (for provenance)."""
        with self._lock:
            return [a.record() for a in self.answers]

    # -- internals ------------------------------------------------------------
    def _bucket(self, service: Service) -> TokenBucket | None:
        if service.rate is None:
            return None
        with self._lock:
            bucket = self._buckets.get(service.base_url)
            if bucket is None:
                bucket = TokenBucket(
                    service.rate, service.burst, clock=self._clock, sleep=self._sleep
                )
                self._buckets[service.base_url] = bucket
            return bucket

    def _fetch(
        self,
        service: Service,
        url: str,
        method: str,
        query: Mapping[str, str],
        answers: frozenset[int],
    ) -> Answer:
        start = self._clock()
        bucket = self._bucket(service)
        problem = "the rate limit's wait used the time"
        for attempt in range(self.retries + 1):
            if bucket is not None:
                bucket.take()
            left = self.deadline - (self._clock() - start)
            if left <= 0:
                break
            wait = min(0.5 * 2**attempt, 8.0)
            try:
                with self._lock:
                    self.stats.requests += 1
                response = self._session.request(
                    method,
                    url,
                    params=query if method == "GET" else None,
                    data=query if method != "GET" else None,
                    timeout=(min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left)),
                )
                body = response.content
            except requests.exceptions.ConnectionError as exc:
                problem = f"cannot connect ({_short(exc)})"
            except requests.exceptions.Timeout:
                problem = "no answer in time"
            except requests.exceptions.RequestException as exc:
                problem = f"the connection broke ({_short(exc)})"
            else:
                status = response.status_code
                if status in answers:
                    msg = f"{service.name}: {url} answered {status}."
                    raise ServiceAnswerError(msg, status)
                if status == 200:
                    expected = response.headers.get("Content-Length")
                    if (
                        expected is not None
                        and expected.isdigit()
                        and int(expected) != len(body)
                    ):
                        problem = f"the answer was cut off ({len(body):,} of {int(expected):,} bytes)"
                    else:
                        return self._keep(service, url, method, query, status, body)
                elif status in RETRY_STATUSES:
                    problem = f"it answered {status} {response.reason}"
                    if status == 429:
                        with self._lock:
                            self.stats.throttled += 1
                        wait = max(wait, _retry_after(response.headers))
                        if bucket is not None:
                            bucket.pause(wait)
                else:
                    msg = (
                        f"{service.name}: {url} answered {status} {response.reason}"
                        f"{_detail(body)}. Check the request's values; if they are right, "
                        f"the service may have changed (set `{service.option}` to another address "
                        "to use a mirror)."
                    )
                    raise FetchError(msg)
            if attempt == self.retries:
                break
            if self._clock() - start + wait > self.deadline:
                break
            with self._lock:
                self.stats.retries += 1
            self._sleep(wait)
        elapsed = self._clock() - start
        msg = (
            f"{service.name} at {service.base_url} could not be used: {problem} "
            f"(asked {url}, gave up after {elapsed:.0f} s). Check the network connection "
            f"and that the service is up, or set `{service.option}` to another address; "
            "nothing was written."
        )
        raise FetchError(msg)

    def _keep(
        self,
        service: Service,
        url: str,
        method: str,
        query: Mapping[str, str],
        status: int,
        body: bytes,
    ) -> Answer:
        answer = Answer(
            service=service.name,
            url=url,
            method=method,
            params=dict(query),
            status=status,
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            fetched=datetime.now(UTC).isoformat(timespec="seconds"),
            cached=False,
            body=body,
        )
        with self._lock:
            self.stats.bytes += len(body)
            self.answers.append(answer)
        return answer

    def forget(self, answer: Answer) -> None:
        """Drop an answer from the record and the cache (it could not be used)."""
        with self._lock:
            if answer in self.answers:
                self.answers.remove(answer)
        if self.cache is not None:
            key = _cache_key(answer.method, answer.url, answer.params)
            for suffix in (".body", ".json"):
                (self.cache / f"{key}{suffix}").unlink(missing_ok=True)

    def _from_cache(
        self,
        service: Service,
        url: str,
        method: str,
        query: Mapping[str, str],
        key: str,
        max_age: float | None = None,
    ) -> Answer | None:
        assert self.cache is not None
        meta_path = self.cache / f"{key}.json"
        body_path = self.cache / f"{key}.body"
        if not (meta_path.is_file() and body_path.is_file()):
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(body).hexdigest() != meta.get("sha256"):
            return None  # a damaged cache entry is fetched again
        if max_age is not None:
            try:
                when = datetime.fromisoformat(str(meta.get("fetched", "")))
            except ValueError:
                return None
            if (datetime.now(UTC) - when).total_seconds() > max_age:
                return None
        answer = Answer(
            service=service.name,
            url=url,
            method=method,
            params=dict(query),
            status=int(meta.get("status", 200)),
            size=len(body),
            sha256=str(meta["sha256"]),
            fetched=str(meta.get("fetched", "")),
            cached=True,
            body=body,
        )
        with self._lock:
            self.stats.cached += 1
            self.answers.append(answer)
        return answer

    def _to_cache(self, answer: Answer, key: str) -> None:
        assert self.cache is not None
        self.cache.mkdir(parents=True, exist_ok=True)
        tag = f"{os.getpid()}-{threading.get_ident()}"
        body_tmp = self.cache / f"{key}.body.part-{tag}"
        body_tmp.write_bytes(answer.body)
        body_tmp.replace(self.cache / f"{key}.body")
        meta_tmp = self.cache / f"{key}.json.part-{tag}"
        meta_tmp.write_text(json.dumps(answer.record()), encoding="utf-8")
        meta_tmp.replace(self.cache / f"{key}.json")


def _cache_key(method: str, url: str, query: Mapping[str, str]) -> str:
    text = f"{method} {url}?{urlencode(sorted(query.items()))}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _retry_after(headers: Mapping[str, str]) -> float:
    value = headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), 30.0)
    except ValueError:
        return 1.0


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _detail(body: bytes) -> str:
    text = body[:300].decode("utf-8", errors="replace").strip()
    return f": {text}" if text else ""
