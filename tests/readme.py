"""A baked README as the tests read it: its sections, code and commands.

The tests take the code and commands they run from the README itself, so that
the README cannot drift from what works. A command's route is the program it
runs: `uv` and `uvx` are the uv route; `python`, `pip`, `daphne`, `ruff`,
`python3 -m venv` and `. .venv/bin/activate` the virtual environment's; anything else
(`cp`, `git`, `sqlite3`, `python3 -c`) belongs to both.
"""

import re

UV, VENV = "uv", "venv"
JSON_ENDPOINT = "## Add a JSON endpoint"  # the heading of that growth recipe


def section(readme, heading):
    """The text under a heading ("## Add a page"), up to the next heading of
    the same level or higher (a "#" line in a code block is no heading)."""
    level = len(heading.split(" ", 1)[0])
    lines = readme.splitlines(keepends=True)
    start = lines.index(f"{heading}\n")
    fenced = False
    for end in range(start + 1, len(lines)):
        fenced ^= lines[end].startswith("```")
        marks = re.match(r"(#+) ", lines[end])
        if not fenced and marks and len(marks[1]) <= level:
            break
    else:
        end = len(lines)
    return "".join(lines[start:end])


def blocks(text, language):
    """The fenced code blocks of a language in text, in order."""
    return re.findall(rf"(?ms)^```{language}\n(.*?)^```$", text)


def command_lines(block):
    """A shell block's commands, one string each: continued lines joined, and
    comments left out (a trailing one starts after two spaces)."""
    joined = re.sub(r"\\\n\s*", "", block)
    lines = (re.sub(r"\s\s+#.*", "", line) for line in joined.splitlines())
    return [line for line in lines if line.strip() and not line.startswith("#")]


def route_of(command):
    """UV, VENV, or None for a command that belongs to both routes."""
    if re.search(r"(^|\s)uvx? ", command):
        return UV
    venv = r"(^|\s)(python |pip |daphne |ruff |\. \.venv/|python3 -m venv )"
    if re.search(venv, command):
        return VENV
    return None


def commands(block, route):
    """The block's commands on one route, in order."""
    return [line for line in command_lines(block) if route_of(line) in (route, None)]


def is_server(command):
    """Does the command run a server (until it is stopped)?"""
    return bool(re.search(r"\bdaphne\b.*\bapp:application\b|\brunserver\b", command))


def add_view(code, section_text):
    """code with the section's view (and template) above urlpatterns, and the
    route its words name (`path(...)`) at the end of urlpatterns."""
    view = blocks(section_text, "python")[0]
    [route] = re.findall(r"`(path\(.*?\))`", section_text.replace("\n", " "))
    begin = code.index("\nurlpatterns = [") + 1
    end = code.index("]\n", begin)
    routes = code[begin:end].rstrip().rstrip(",")
    return f"{code[:begin]}{view}\n{routes}, {route}{code[end:]}"
