#!/usr/bin/env python3
"""apparmor-check.py: would these AppArmor profiles let these programs run?

Usage: apparmor-check.py PREPROCESSED... -- STEP...
  PREPROCESSED  the output of `apparmor_parser -p FILE` (includes expanded)
  STEP          FROM:PROGRAM:EXPECTED  -- a process confined by profile FROM
                execs PROGRAM (its real path); the exec must be allowed and
                leave the process in profile EXPECTED ("unconfined" for none)

These machines have no AppArmor in their kernel, so nothing can be loaded
and tried.  apparmor_parser compiles the profiles (the test runs it with -Q
first: syntax, x-modifier conflicts); this script reads the rules back and
decides each exec as the kernel would:

  * the file rules of profile FROM (not of its children) whose path glob
    matches PROGRAM and whose permissions hold an x;
  * a deny rule with x that matches wins;
  * among allow rules, exact paths win over globs (AppArmor's rule);
  * the x modifier decides the next profile: i inherits, P/p enters the
    named profile (`-> NAME`) or the one whose attachment matches, C/c a
    child of FROM, U/u unconfined; a P/C transition to a profile that is
    not among those parsed is refused (the kernel refuses the exec), unless
    the rule falls back (Pix, PUx).

Variables (@{VAR}, also += and nested) are expanded; globs follow AppArmor:
`*` any characters but '/', `**` any, `?` one character but '/', `[...]`,
`{a,b}` alternation, and `*`/`**` right after a '/' match at least one
character.  Prints one line per step, exits 1 if any step is refused.
"""
import re
import sys

EXEC_MODS = set("iuUpPcC")


def strip_comment(line):
    out = []
    i = 0
    while i < len(line):
        c = line[i]
        if c == '"':
            j = line.find('"', i + 1)
            j = len(line) if j < 0 else j + 1
            out.append(line[i:j])
            i = j
            continue
        if c == "#" and (i == 0 or line[i - 1].isspace()):
            break
        out.append(c)
        i += 1
    return "".join(out).strip()


class Profile:
    def __init__(self, name, attach, parent):
        self.name = name
        self.attach = attach
        self.parent = parent
        self.rules = []          # (deny, path, perms, target)
        self.children = {}

    @property
    def full(self):
        return self.name if self.parent is None else self.parent.full + "//" + self.name


def split_values(text):
    vals = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', text):
        vals.append(m.group(1) if m.group(1) is not None else m.group(2))
    return vals


HEAD = re.compile(r'^(?:profile\s+(\S+)(?:\s+(\S+))?|(/\S+|"[^"]+"))'
                  r'(?:\s+flags\s*=\s*\([^)]*\))?\s*\{$')
FILE_RULE = re.compile(r'^(?:audit\s+)?(deny\s+)?(?:owner\s+|other\s+)?(?:file\s+)?'
                       r'(?:("[^"]+"|[/@]\S*)\s+([a-zA-Z]+)|([a-zA-Z]+)\s+("[^"]+"|[/@]\S*))'
                       r'(?:\s*->\s*(\S+))?\s*$')


def parse(texts):
    variables = {}
    profiles = {}
    for text in texts:
        stack = []
        pending = ""
        for raw in text.splitlines():
            line = strip_comment(raw)
            if not line:
                continue
            m = re.match(r'^(@\{[\w]+\})\s*(\+?=)\s*(.*)$', line)
            if m and not stack:
                vals = split_values(m.group(3))
                if m.group(2) == "+=":
                    variables.setdefault(m.group(1), []).extend(vals)
                else:
                    variables[m.group(1)] = vals
                continue
            h = HEAD.match(line)
            if h:
                name = h.group(1) or h.group(3)
                name = name.strip('"')
                attach = h.group(2) or (name if name.startswith("/") else None)
                p = Profile(name, attach, stack[-1] if stack else None)
                if stack:
                    stack[-1].children[name] = p
                else:
                    profiles[name] = p
                stack.append(p)
                continue
            if line == "}":
                if stack:
                    stack.pop()
                continue
            if not stack:
                continue
            pending = (pending + " " + line).strip()
            if not pending.endswith(","):
                continue
            rule, pending = pending[:-1].strip(), ""
            if rule == "file" or rule == "deny file" or rule == "audit file":
                stack[-1].rules.append(("deny" in rule, "/**", "rwlkmix", None))
                continue
            f = FILE_RULE.match(rule)
            if not f:
                continue
            path = f.group(2) or f.group(5)
            perms = f.group(3) or f.group(4)
            if "x" not in perms or not re.fullmatch(r"[rwamlkxiuUpPcCd]+", perms):
                continue
            stack[-1].rules.append((bool(f.group(1)), path.strip('"'), perms, f.group(6)))
    return variables, profiles


def expand(path, variables, depth=0):
    """All the alternatives a path with @{VAR}s stands for, as {a,b} globs."""
    if depth > 16:
        raise ValueError("variable loop in " + path)
    m = re.search(r"@\{(\w+)\}", path)
    if not m:
        return path
    vals = variables.get("@{" + m.group(1) + "}")
    if vals is None:
        raise ValueError("undefined variable " + m.group(0))
    alt = "{" + ",".join(expand(v, variables, depth + 1) for v in vals) + "}"
    return expand(path[:m.start()] + alt + path[m.end():], variables, depth + 1)


def glob_regex(glob):
    out = []
    i = 0
    depth = 0
    while i < len(glob):
        c = glob[i]
        after_slash = i > 0 and glob[i - 1] == "/"
        if c == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
            continue
        if glob.startswith("**", i):
            out.append("[^/].*" if after_slash else ".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]+" if after_slash else "[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.index("]", i + 1)
            cls = glob[i + 1:j]
            if cls.startswith("^"):
                cls = "^/" + cls[1:]
            out.append("[" + cls.replace("\\", "\\\\") + "]")
            i = j + 1
            continue
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "," and depth > 0:
            out.append("|")
        elif c == "}" and depth > 0:
            out.append(")")
            depth -= 1
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def is_exact(glob):
    return not re.search(r"[*?\[{]|@\{", glob)


def exec_mode(perms):
    i = perms.index("x")
    j = i
    while j > 0 and perms[j - 1] in EXEC_MODS:
        j -= 1
    return perms[j:i]


def find_profile(profiles, full):
    parts = full.split("//")
    p = profiles.get(parts[0])
    for child in parts[1:]:
        p = p.children.get(child) if p else None
    return p


def attached(profiles, program, variables):
    for p in profiles.values():
        if p.attach and re.fullmatch(glob_regex(expand(p.attach, variables)), program):
            return p
    return None


def step(variables, profiles, frm, program):
    """(resulting profile name, or None when refused; explanation)"""
    prof = find_profile(profiles, frm)
    if prof is None:
        return None, "no profile %s among those parsed" % frm
    allow, deny = [], []
    for d, path, perms, target in prof.rules:
        if re.fullmatch(glob_regex(expand(path, variables)), program):
            (deny if d else allow).append((path, perms, target))
    if deny:
        return None, "denied by 'deny %s %s'" % deny[0][:2]
    if not allow:
        return None, "no exec rule of %s matches" % frm
    exact = [r for r in allow if is_exact(r[0])]
    path, perms, target = (exact or allow)[0]
    mode = exec_mode(perms)
    rule = "'%s %s%s'" % (path, perms, " -> " + target if target else "")
    if mode == "" or mode == "i":
        return prof.full, "inherits, by " + rule
    if mode[0] in "uU":
        return "unconfined", "unconfined, by " + rule
    if mode[0] in "pP":
        nxt = find_profile(profiles, target) if target else attached(profiles, program, variables)
    else:
        nxt = prof.children.get(target) if target else None
        if nxt is None and not target:
            nxt = next((c for c in prof.children.values() if c.attach and
                        re.fullmatch(glob_regex(expand(c.attach, variables)), program)), None)
    if nxt is not None:
        return nxt.full, "enters %s, by %s" % (nxt.full, rule)
    if "i" in mode[1:]:
        return prof.full, "inherits (no such profile), by " + rule
    if "u" in mode[1:].lower():
        return "unconfined", "unconfined (no such profile), by " + rule
    return None, "%s names profile %s, which is not loaded: the exec is refused" % (
        rule, target or "(by attachment)")


def main(argv):
    if "--" not in argv:
        sys.stderr.write(__doc__)
        return 2
    cut = argv.index("--")
    texts = [open(f, encoding="utf-8").read() for f in argv[1:cut]]
    variables, profiles = parse(texts)
    failed = 0
    for s in argv[cut + 1:]:
        frm, program, expected = s.split(":")
        got, why = step(variables, profiles, frm, program)
        if got != expected:
            failed += 1
            print("REFUSED %s execs %s: %s%s" % (frm, program, why,
                  "" if got is None else " (expected %s)" % expected))
        else:
            print("ok      %s execs %s: %s" % (frm, program, why))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
