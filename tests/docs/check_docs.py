#!/usr/bin/env python3
"""Keeps the documentation (README.md, docs/*.md, bench/README.md) true to the tree. Fails, listing
every problem, when:
  - a relative link does not resolve (file, and #anchor among its headings), or leaves the
    documentation that ships; a source path named in `code` does not exist;
  - a quoted log line or message is not one the program prints: not a string literal of source/
    or tests/, nor made of such literals around its variable parts (docs/development.md, "The
    documentation check", says what counts as quoted and as variable);
  - in docs/design.md, a table row names a file and code that the file does not hold;
  - a figure stated once disagrees with its source: the version, the static binary's size
    ceiling, the Boost versions, a preset, the supervisord program.
Usage: check_docs.py [-v] [SOURCE_DIR]   (-v lists every quoted line it checks)"""
import glob
import json
import pathlib
import re
import sys

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
# Example values the documentation uses where the program prints what it was given.
EXAMPLE_VALUES = ("my-container", "my-image", "c1", "demo")
REPO_PATH = re.compile(r"^(?:source|tests|packaging|bench|docs|\.ci)/[\w./*-]*$|"
                       r"^(?:CMakeLists\.txt|CMakePresets\.json|LICENSE|README\.md)$")
IDENTIFIER = re.compile(r"^~?[A-Za-z_]\w*(?:::~?[A-Za-z_]\w*)*(?:\(\))?$")
LOG_LINE = re.compile(r"^(?:\d{4}-\d\d-\d\dT[\d:.]+Z\s+)?(TRACE|DEBUG|INFO|WARN|ERROR)\s+(.*)$")
FIELD = re.compile(r'(?:^|\s)([a-z_][a-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)')
PROGRAM_PREFIX = ("tunnel-client: ", "tunnel-runner: ")


# ---- The documentation, as prose paragraphs and code blocks ----

class Doc:
    def __init__(self, root, path):
        self.root = root
        self.path = path
        self.name = str(path.relative_to(root))
        self.paragraphs = []  # (first line number, text with its newlines)
        self.blocks = []      # (first line number, info string, lines)
        self.headings = []
        paragraph, start, fence = [], 0, None
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if fence is not None:
                if line.strip().startswith(fence[0]):
                    self.blocks.append(fence[1:])
                    fence = None
                else:
                    fence[3].append(line)
                continue
            m = re.match(r"^\s*(```+|~~~+)\s*([\w-]*)", line)
            if m:
                if paragraph:
                    self.paragraphs.append((start, "\n".join(paragraph)))
                paragraph = []
                fence = [m.group(1), number + 1, m.group(2), []]
                continue
            if not line.strip():
                if paragraph:
                    self.paragraphs.append((start, "\n".join(paragraph)))
                paragraph = []
                continue
            h = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
            if h:
                self.headings.append(h.group(2))
            if not paragraph:
                start = number
            paragraph.append(line)
        if paragraph:
            self.paragraphs.append((start, "\n".join(paragraph)))
        self.anchors = set()
        seen = {}
        for heading in self.headings:
            slug = github_slug(heading)
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            self.anchors.add(slug if n == 0 else f"{slug}-{n}")

    def code_spans(self):
        """(line number, text) of every inline code span, its whitespace made single spaces."""
        for start, text in self.paragraphs:
            for m in re.finditer(r"(`+)(.+?)\1", text, re.S):
                yield start + text.count("\n", 0, m.start()), re.sub(r"\s+", " ", m.group(2).strip())

    def prose_without_code(self):
        for start, text in self.paragraphs:
            yield start, re.sub(r"(`+)(.+?)\1", lambda m: "\x02" * len(m.group(0)), text, flags=re.S)


def github_slug(heading):
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def documentation(root):
    paths = [root / "README.md"] + sorted((root / "docs").glob("*.md")) + [root / "bench" / "README.md"]
    return [Doc(root, p) for p in paths if p.exists()]


# ---- What the program can print: the string literals of source/ and tests/ ----

def cxx_literals(text):
    """The string literals of a C++ file, unescaped; adjacent literals also joined into one."""
    out = []
    i, n = 0, len(text)
    run, run_end = None, -1
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 2
            continue
        if c == "'" and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        raw = re.match(r'(?:u8|[uUL])?R"([^(\s]{0,16})\(', text[i:i + 24])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end_marker = ")" + raw.group(1) + '"'
            body_start = i + raw.end()
            end = text.find(end_marker, body_start)
            end = n if end < 0 else end
            value, i = text[body_start:end], end + len(end_marker)
        elif c == '"':
            j, chars = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    e = text[j + 1]
                    if e == "x":
                        m = re.match(r"[0-9a-fA-F]+", text[j + 2:])
                        chars.append(chr(int(m.group(0), 16)) if m else "x")
                        j += 2 + (len(m.group(0)) if m else 0)
                        continue
                    chars.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(e, e))
                    j += 2
                    continue
                chars.append(text[j])
                j += 1
            value, i = "".join(chars), j + 1
        else:
            i += 1
            continue
        if run is not None and text[run_end:i - len(value) - 2].strip() == "":
            run += value  # adjacent literals are one string
        else:
            if run is not None:
                out.append(run)
            run = value
        out.append(value)
        run_end = i
    if run is not None:
        out.append(run)
    return out


class Corpus:
    def __init__(self, root):
        literals = []
        self.calls = {}  # log message -> levels it is logged at
        for folder in ("source", "tests"):
            for path in sorted((root / folder).rglob("*")):
                if path.suffix not in (".cpp", ".hpp"):
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
                literals += cxx_literals(text)
                for m in re.finditer(r'\blog_(trace|debug|info|warn|error)\(\s*"((?:[^"\\]|\\.)*)"', text):
                    self.calls.setdefault(norm(m.group(2)), set()).add(m.group(1))
                for m in re.finditer(r'log_level::(trace|debug|info|warn|error),\s*"((?:[^"\\]|\\.)*)"', text):
                    self.calls.setdefault(norm(m.group(2)), set()).add(m.group(1))
        self.literals = {norm(s) for s in literals if s.strip()}
        self.joined = "\0" + "\0".join(sorted(self.literals)) + "\0"

    def has_literal(self, text):
        return norm(text) in self.literals

    def composed(self, fragment):
        """True when fragment is part of one literal, or the end of one, whole literals, and the
        start of another, in a row (what concatenation in the code makes)."""
        f = fragment
        if f in self.joined:
            return True
        reach = [False] * (len(f) + 1)
        for i in range(1, len(f)):
            if (f[:i] + "\0") in self.joined:
                reach[i] = True
        for i in range(1, len(f)):
            if not reach[i]:
                continue
            if ("\0" + f[i:]) in self.joined:
                return True
            for j in range(i + 1, len(f) + 1):
                if not reach[j] and f[i:j] in self.literals:
                    reach[j] = True
        return reach[len(f)]


def norm(text):
    return re.sub(r"\s+", " ", text)


# ---- Quoted lines: their variable parts, and the check ----

class Quotes:
    def __init__(self, root, corpus, problems):
        self.corpus = corpus
        self.problems = problems
        self.checked = 0
        self.verbose = False
        self.externals = []
        for line in (root / "tests" / "docs" / "external_texts.txt").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                self.externals.append(line.split(" | ")[0].strip())
        self.externals.sort(key=len, reverse=True)

    def variable_parts_out(self, text):
        """The text with every variable part replaced by \x01."""
        for e in self.externals:
            text = text.replace(e, "\x01")
        rules = [
            r"\.\.\.|…",
            r"[a-z][a-z0-9+.-]*://[^\s\"'<>;,)]+",
            r"@tunnel-client/\S+",
            r"(?<![\w.:/-])/(?:[\w.@%+-]+/?)+",
            r"\[[0-9a-fA-F:.]+\](?::\d+)?",
            r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\b",
            r"(?<![\w.])\d[\w.:]*",
            r"\b[A-Z][A-Z0-9_]*\b",
            r"\b(?:" + "|".join(re.escape(v) for v in EXAMPLE_VALUES) + r")\b",
            r"(?<=')[^'\s][^']*(?=')",
        ]
        for rule in rules:
            text = re.sub(rule, "\x01", text)
        return text

    def printed(self, text):
        """Whether the program can print text (its variable parts aside)."""
        if self.corpus.has_literal(text):
            return True
        for fragment in norm(self.variable_parts_out(text)).split("\x01"):
            fragment = fragment.strip()
            if re.search(r"[A-Za-z]", fragment) and not self.corpus.composed(fragment):
                return False
        return True

    def listed(self, where, kind, text):
        if self.verbose:
            print(f"{where}: {kind}: {text}")

    def fail(self, where, what, quoted):
        self.problems.append(f"{where}: {what}: {quoted}")

    def message(self, where, text):
        self.checked += 1
        self.listed(where, "message", text)
        if not self.printed(text):
            self.fail(where, "not printed by the program (no such literal in source/ or tests/)", text)

    def log_line(self, where, text):
        self.checked += 1
        self.listed(where, "log line", text)
        m = LOG_LINE.match(text)
        level, rest = m.group(1), m.group(2)
        first_field = re.search(r"(?:^|\s)[a-z_][a-z0-9_]*=", rest)
        msg = (rest[:first_field.start()] if first_field else rest).strip()
        fields = rest[first_field.start():] if first_field else ""
        if not self.corpus.has_literal(msg) and (
                "\x01" not in self.variable_parts_out(msg) or not self.printed(msg)):
            self.fail(where, "log message not in the program", msg)
        levels = self.corpus.calls.get(norm(msg))
        if levels and level.lower() not in levels:
            self.fail(where, f"logged at {'/'.join(sorted(levels))}, not {level}", msg)
        self.fields(where, fields)

    def fields(self, where, fields):
        for key, value in FIELD.findall(fields):
            if not self.corpus.has_literal(key):
                self.fail(where, "no log field of that name", key)
            if value.startswith('"') and len(value) > 1 and value[1:-1] not in ("...", ""):
                if not self.printed(value[1:-1].replace('\\"', '"')):
                    self.fail(where, f"{key}= value not printed by the program", value)

    def json_line(self, where, text):
        self.checked += 1
        self.listed(where, "JSON line", text)
        try:
            obj = json.loads(text)
        except ValueError:
            self.fail(where, "not valid JSON", text)
            return
        if not isinstance(obj, dict):
            return
        if "msg" in obj and not self.corpus.has_literal(str(obj["msg"])):
            self.fail(where, "log message not in the program", obj["msg"])
        for key in obj:
            if not self.corpus.has_literal(key):
                self.fail(where, "no JSON field of that name", key)

    def code_line(self, where, line, console):
        text = line.strip()
        if not text:
            return
        if console and (text.startswith("$ ") or text == "$"):
            return
        if LOG_LINE.match(text):
            self.log_line(where, text)
        elif text.startswith("{\"") and text.endswith("}"):
            self.json_line(where, text)
        elif text.startswith(PROGRAM_PREFIX) or console:
            self.message(where, text)

    def code_span(self, where, span):
        if LOG_LINE.match(span) and span.split()[0] in LEVELS:
            self.log_line(where, span)
        elif span.startswith(PROGRAM_PREFIX):
            self.message(where, span)
        elif span.startswith("{\"") and span.endswith("}"):
            self.json_line(where, span)
        elif len(span) > 2 and span.startswith('"') and span.endswith('"'):
            self.message(where, span[1:-1])
        elif re.match(r'^[a-z_][a-z0-9_]*="', span):
            self.checked += 1
            self.listed(where, "field", span)
            self.fields(where, " " + span)


# ---- The checks ----

def check_links(docs, root, problems):
    by_path = {d.path.resolve(): d for d in docs}
    count = 0
    for d in docs:
        for start, text in d.prose_without_code():
            for m in re.finditer(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)", text, re.M):
                target = m.group(1) or m.group(2)
                where = f"{d.name}:{start + text.count(chr(10), 0, m.start())}"
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                count += 1
                file_part, _, anchor = target.partition("#")
                dest = (d.path.parent / file_part).resolve() if file_part else d.path.resolve()
                if not dest.exists():
                    problems.append(f"{where}: link to a missing file: {target}")
                    continue
                if dest not in by_path:
                    problems.append(f"{where}: link outside the documentation that ships (name code in `code`): {target}")
                    continue
                if anchor and anchor not in by_path[dest].anchors:
                    problems.append(f"{where}: no heading for #{anchor} in {by_path[dest].name}")
    return count


def check_paths(docs, root, problems):
    count = 0
    for d in docs:
        for line_no, span in d.code_spans():
            path = span.rstrip("/")
            if not REPO_PATH.match(span):
                continue
            count += 1
            if "*" in path:
                if not glob.glob(str(root / path)):
                    problems.append(f"{d.name}:{line_no}: no file matches `{span}`")
            elif not (root / path).exists():
                problems.append(f"{d.name}:{line_no}: no such file or directory: `{span}`")
    return count


def check_quotes(docs, quotes):
    for d in docs:
        for start, info, lines in d.blocks:
            if info in ("bash", "sh", "ini", "dockerfile", "cmake", "cpp"):
                continue
            for offset, line in enumerate(lines):
                quotes.code_line(f"{d.name}:{start + offset}", line, info == "console")
        for line_no, span in d.code_spans():
            quotes.code_span(f"{d.name}:{line_no}", span)


def check_design_rows(docs, root, problems):
    count = 0
    for d in docs:
        if d.name != "docs/design.md":
            continue
        for start, text in d.paragraphs:
            for offset, row in enumerate(text.split("\n")):
                if not row.lstrip().startswith("|"):
                    continue
                spans = [s.strip() for s in re.findall(r"`([^`]+)`", row)]
                files = [root / s for s in spans if REPO_PATH.match(s) and (root / s.rstrip("/")).exists()]
                if not files:
                    continue
                bodies = ""
                for f in files:
                    for p in ([f] if f.is_file() else sorted(q for q in f.rglob("*") if q.is_file())):
                        bodies += p.read_text(encoding="utf-8", errors="replace") + "\n"
                for s in spans:
                    if REPO_PATH.match(s) or not IDENTIFIER.match(s):
                        continue
                    count += 1
                    name = s.rstrip("()").split("::")[-1]
                    if not re.search(r"(?<![\w])" + re.escape(name) + r"(?![\w])", bodies):
                        problems.append(f"{d.name}:{start + offset}: `{s}` is not in "
                                        + ", ".join(str(f.relative_to(root)) for f in files))
    return count


def check_figures(docs, root, problems):
    cmake = (root / "CMakeLists.txt").read_text(encoding="utf-8")
    # The version: project() in CMakeLists.txt.
    version = re.search(r"project\(tunnel_client VERSION (\d+\.\d+\.\d+)", cmake).group(1)
    for d in docs:
        for number, line in enumerate(d.path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r'(?:tunnel-client |version=|"version":")(\d+\.\d+\.\d+)', line):
                if m.group(1) != version:
                    problems.append(f"{d.name}:{number}: version {m.group(1)}, but CMakeLists.txt says {version}")

    # The static binary's size ceiling: max_size in packaging/package.sh, stated in docs/packaging.md only.
    package_sh = (root / "packaging" / "package.sh").read_text(encoding="utf-8")
    expr = re.search(r"^max_size=\$\(\(([\d\s*/+()-]+)\)\)", package_sh, re.M)
    if not expr:
        problems.append("packaging/package.sh: no max_size=$((...)) to compare the documented ceiling with")
    else:
        ceiling = eval(expr.group(1).replace("/", "//"), {"__builtins__": {}}) / (1024 * 1024)
        stated = []
        for d in docs:
            if d.name == "bench/README.md":
                continue
            for start, text in d.prose_without_code():
                for sentence in re.split(r"(?<=[.;:])\s", text):
                    if not re.search(r"\b(binary|static|size ceiling)\b", sentence):
                        continue
                    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*MiB\b(?!/)", sentence):
                        stated.append(d.name)
                        if d.name != "docs/packaging.md":
                            problems.append(f"{d.name}:{start}: the binary's size is stated in "
                                            "docs/packaging.md only (link there)")
                        elif abs(float(m.group(1)) - ceiling) > 0.005:
                            problems.append(f"{d.name}:{start}: size ceiling {m.group(1)} MiB, but "
                                            f"packaging/package.sh says {ceiling:g} MiB")
        if "docs/packaging.md" not in stated:
            problems.append("docs/packaging.md: does not state the static binary's size ceiling")

    # Boost: the oldest accepted (find_package), and the one the direct writer needs.
    oldest = re.search(r"find_package\(Boost (\d+\.\d+)", cmake).group(1)
    newer = re.search(r"Boost_VERSION VERSION_LESS (\d+\.\d+)", cmake).group(1)
    section_found = False
    for d in docs:
        in_section = False
        for number, line in enumerate(d.path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("#"):
                in_section = d.name == "docs/development.md" and line.strip() == "## Boost versions"
                section_found = section_found or in_section
            for m in re.finditer(r"\bBoost (1\.\d+)", line):
                if m.group(1) != oldest and not (in_section and m.group(1) == newer):
                    problems.append(f"{d.name}:{number}: Boost {m.group(1)}, but CMakeLists.txt accepts "
                                    f"Boost {oldest} (newer: see docs/development.md#boost-versions)")
    if not section_found:
        problems.append("docs/development.md: no '## Boost versions' section")

    # Presets named in the documentation exist.
    presets = {p["name"] for p in json.loads((root / "CMakePresets.json").read_text())["configurePresets"]}
    for d in docs:
        for number, line in enumerate(d.path.read_text(encoding="utf-8").splitlines(), 1):
            for m in re.finditer(r"(?:--preset[ =]|packaging/test\.sh |setup\.sh )([a-z][\w-]*)", line):
                # (setup.sh also takes "package" and "arm64": what packaging and the arm64 build need)
                if m.group(1) not in presets and not (m.group(0).startswith("setup.sh") and
                                                      m.group(1) in ("package", "arm64")):
                    problems.append(f"{d.name}:{number}: no preset {m.group(1)} in CMakePresets.json")

    # The supervisord program quoted is the shipped one.
    shipped = [l.strip() for l in (root / "packaging" / "supervisord" / "tunnel-client.conf").read_text().splitlines()
               if l.strip() and not l.startswith(";")]
    for d in docs:
        for start, info, lines in d.blocks:
            quoted = [l.strip() for l in lines if l.strip() and not l.strip().startswith(";")]
            if info == "ini" and quoted and quoted[0] == "[program:tunnel-client]" and quoted != shipped:
                problems.append(f"{d.name}:{start}: the supervisord program differs from "
                                "packaging/supervisord/tunnel-client.conf")


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = len(args) < len(sys.argv) - 1  # -v: list every quoted line checked
    root = pathlib.Path(args[0] if args else ".").resolve()
    problems = []
    docs = documentation(root)
    links = check_links(docs, root, problems)
    paths = check_paths(docs, root, problems)
    quotes = Quotes(root, Corpus(root), problems)
    quotes.verbose = verbose
    check_quotes(docs, quotes)
    rows = check_design_rows(docs, root, problems)
    check_figures(docs, root, problems)
    for p in problems:
        print(p)
    print(f"docs: {len(docs)} files, {links} links, {paths} paths, {quotes.checked} quoted lines, "
          f"{rows} code names in design.md; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
