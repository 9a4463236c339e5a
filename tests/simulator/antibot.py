"""JavaScript anti-bot challenges in front of a whole host: 加速乐 (Knownsec, HTTP 521) and 瑞数 (412).

Both are simplified but keep what matters to a crawler: the first answer is a challenge page with no
content; only JavaScript (a browser, or a client that re-implements the script) yields the cookie(s)
that unlock the host; the cookie values depend on numbers inside the script, so they cannot be
guessed.  The hash both use is 32-bit FNV-1a — pure JS, because `crypto.subtle` is missing on http://.

加速乐, as on real sites, takes two rounds: round 1 sets a preliminary `__jsl_clearance_s` spelled out
char by char (`('_')+('_')+…`); with that cookie, round 2 sends `go({bts, chars, ct, …})`, which tries
every pair of `chars` until fnv1a(bts[0] + c1 + c2 + bts[1]) == ct and stores that string as the final
`__jsl_clearance_s` (Path=/).  Only the final value passes.

瑞数: a `$_ts = {nsd, cd}` script plus a `<meta id content>`; after setTimeout(…, 1500) it sets
`{P}S = reverse(cd) + fnv1a(cd + nsd)` and `{P}T = "0" + fnv1a(S + meta) + fnv1a(meta + nsd)` and
reloads.  `blocked=True` makes a host that answers 412 forever, whatever the cookies.
"""

from __future__ import annotations

import json
import random
import string

from .world import Gate, Response

JSL_COOKIE = "__jsl_clearance_s"
_NO_CACHE = {"Cache-Control": "no-cache, no-store", "Content-Type": "text/html; charset=utf-8"}
_FNV_JS = ("function fnv(s){var h=0x811c9dc5;for(var i=0;i<s.length;i++){h^=s.charCodeAt(i);"
           "h=Math.imul(h,16777619)>>>0}return ('0000000'+h.toString(16)).slice(-8)}")
_RELOAD = "location.href=location.pathname+location.search"


def fnv1a(text: str) -> str:
    """32-bit FNV-1a of the UTF-16 code units (ASCII here) as 8 hex digits, exactly like the page's JS."""
    h = 0x811C9DC5
    for ch in text:
        h = ((h ^ ord(ch)) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def jsl_gate(host: str, seed: str) -> Gate:
    """加速乐 for `host`: 521 + preliminary cookie, 521 + go({...}), then the page."""
    rng = random.Random(f"jsl:{seed}:{host}")
    stamp = f"{rng.randint(1_700_000_000, 1_760_000_000)}.{rng.randint(100, 999)}"
    preliminary = f"{stamp}|-1|{''.join(rng.choices(string.ascii_letters + string.digits, k=26))}"
    chars = "".join(rng.sample(string.ascii_letters, 52))
    bts = [f"{stamp}|0|{''.join(rng.choices(string.ascii_letters + string.digits, k=14))}",
           "".join(rng.choices(string.ascii_letters + string.digits, k=12))]
    answer = rng.choice(chars) + rng.choice(chars)
    ct = fnv1a(bts[0] + answer + bts[1])
    # the value the script will actually find: the first pair in its loop order with the right hash
    final = next(v for a in chars for b in chars if fnv1a(v := bts[0] + a + b + bts[1]) == ct)
    jsluid = f"{rng.getrandbits(128):032x}"
    spelled = "+".join(f"('{c}')" for c in f"{JSL_COOKIE}={preliminary};max-age=3600;path=/")
    round1 = f"<html><body><script>document.cookie={spelled};{_RELOAD}</script></body></html>".encode()
    params = {"bts": bts, "chars": chars, "ct": ct, "ha": "fnv1a", "is": True, "tn": JSL_COOKIE, "vt": "3600",
              "wt": "1500"}
    round2 = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><script>"
              f"{_FNV_JS}\nvar go=function(p){{var c=p.chars,n=c.length;for(var i=0;i<n;i++){{"
              "for(var j=0;j<n;j++){var v=p.bts[0]+c[i]+c[j]+p.bts[1];if(fnv(v)==p.ct){"
              f"document.cookie=p.tn+'='+v+';max-age='+p.vt+';path=/';{_RELOAD};return}}}}}}}};\n"
              f"go({json.dumps(params)})</script></body></html>").encode()

    def gate(method: str, url: str, cookies: dict[str, str]) -> Response | None:
        value = cookies.get(JSL_COOKIE)
        if value == final:
            return None
        if value == preliminary:
            return 521, dict(_NO_CACHE), round2
        headers = {**_NO_CACHE, "Set-Cookie": f"__jsluid_h={jsluid}; max-age=31536000; path=/; HttpOnly"}
        return 521, headers, round1

    return gate


def ruishu_gate(host: str, seed: str, blocked: bool = False) -> Gate:
    """瑞数 for `host`: 412 + `$_ts` script until both {P}S and {P}T are right (never, if `blocked`)."""
    rng = random.Random(f"ruishu:{seed}:{host}")
    prefix = "".join(rng.choices(string.ascii_letters + string.digits, k=13)) + "80"
    nsd = rng.randint(10000, 99999)
    cd = "".join(rng.choices(string.ascii_letters + string.digits + "_", k=48))
    meta_id = "".join(rng.choices(string.ascii_letters, k=12))
    meta = "".join(rng.choices(string.ascii_letters + string.digits + ".", k=40))
    s_value = cd[::-1] + fnv1a(f"{cd}{nsd}")
    t_value = "0" + fnv1a(s_value + meta) + fnv1a(f"{meta}{nsd}")
    page = ("<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            f"<meta id=\"{meta_id}\" content=\"{meta}\" r='m'>\n"
            f"<script type=\"text/javascript\" r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts=window['$_ts']={{}};"
            f"$_ts.nsd={nsd};$_ts.cd=\"{cd}\";</script>\n"
            f"<script type=\"text/javascript\" r='m'>(function(){{{_FNV_JS}\n"
            f"var ts=window.$_ts,m=document.getElementById('{meta_id}').content;"
            "var s=ts.cd.split('').reverse().join('')+fnv(ts.cd+ts.nsd);"
            "var t='0'+fnv(s+m)+fnv(m+ts.nsd);\n"
            f"setTimeout(function(){{document.cookie='{prefix}S='+s+';path=/';"
            f"document.cookie='{prefix}T='+t+';path=/';location.replace(location.href)}},1500);}})();</script>\n"
            "</head><body></body></html>").encode()
    o_cookie = f"{prefix}O={rng.getrandbits(160):040x}; Path=/; HttpOnly"

    def gate(method: str, url: str, cookies: dict[str, str]) -> Response | None:
        if not blocked and cookies.get(prefix + "S") == s_value and cookies.get(prefix + "T") == t_value:
            return None
        return 412, {**_NO_CACHE, "Set-Cookie": o_cookie}, page

    return gate
