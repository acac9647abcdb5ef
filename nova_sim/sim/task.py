"""Rally task files: rendering, both formats, and refusing what nova-sim cannot run.

Owns turning a task file into a ``Task`` of ``Workload`` objects, the way ``rally task
start`` reads it:

1. the file is a Jinja2 template, rendered with the task arguments (``--task-args-file``
   first, then ``--task-args`` over it) and the template's own directory as the search
   path for ``{% include %}``; a variable the template uses without a default and that no
   argument gives is an error, as in Rally;
2. the result is parsed as YAML (which reads JSON too);
3. format v1 (``{"Scenario.name": [{args, runner, context, sla, hooks}]}``) and v2
   (``version: 2``, ``title``, ``subtasks`` of one ``scenario`` or a list of
   ``workloads``) are brought to one form, with Rally's defaults: runner ``serial`` and
   SLA ``failure_rate: {max: 0}`` when absent;
4. every scenario, argument, runner, runner option, context, context option and SLA is
   checked against what nova-sim supports; anything else raises ``TaskError`` with one
   line naming it, before anything runs.

Must not know how a workload runs: the supported names come from ``scenarios``,
``runners`` and ``sla``.
"""

from __future__ import annotations

import builtins
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.meta
import yaml

from nova_sim.sim import runners, scenarios, sla

#: Contexts nova-sim applies, and the keys each accepts.
CONTEXTS: dict[str, frozenset[str]] = {
    "users": frozenset(["tenants", "users_per_tenant", "resource_management_workers",
                        "project_domain", "user_domain", "user_choice_method"]),
    "quotas": frozenset(["nova"]),
}
#: The Nova quotas nova-sim enforces (the ``quotas`` context may set these).
NOVA_QUOTAS = ("instances", "cores", "ram")


class TaskError(Exception):
    """A task that cannot run as written: the message is one line naming the problem."""


@dataclass
class Workload:
    """One workload of a task, in one form whatever the file's format."""

    subtask: str
    position: int
    scenario: str
    args: dict[str, Any]
    runner_type: str
    runner: dict[str, Any]
    contexts: dict[str, Any]
    sla: dict[str, Any]
    description: str = ""
    hooks: list[Any] = field(default_factory=list)


@dataclass
class Task:
    """A loaded, checked task: its title, format version and workloads in order."""

    title: str
    description: str
    version: int
    workloads: list[Workload]
    tags: list[str] = field(default_factory=list)


# -- rendering -------------------------------------------------------------------------

# Python's builtins a task template may call (Rally renders with them in reach).
_TEMPLATE_GLOBALS = {name: getattr(builtins, name)
                     for name in ("min", "max", "int", "float", "str", "len", "abs", "round",
                                  "sum", "sorted", "list", "dict", "bool")}


def parse_task_args(text: str | None, origin: str) -> dict[str, Any]:
    """Task arguments given as JSON or YAML text (``origin`` names where they came from
    in the error). An empty text is no arguments; anything but a mapping is a TaskError."""
    if text is None or not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TaskError(f"{origin}: not JSON or YAML: {_one_line(error)}")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TaskError(f"{origin}: task arguments must be a mapping, got "
                        f"{type(value).__name__}")
    return value


def render_task(text: str, args: dict[str, Any], template_dir: str = ".") -> str:
    """Render the Jinja2 task template ``text`` with ``args``.

    Raises TaskError when the template is broken or uses a variable that ``args`` do not
    give and that has no default (``x | default(...)``, ``x is defined``), as Rally does.
    """
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir, encoding="utf8"),
                             keep_trailing_newline=True)
    env.globals.update(_TEMPLATE_GLOBALS)
    try:
        ast = env.parse(text)
    except jinja2.TemplateSyntaxError as error:
        raise TaskError(f"task template: line {error.lineno}: {error.message}")
    undeclared = jinja2.meta.find_undeclared_variables(ast)
    missing = sorted(name for name in undeclared - set(args) - set(env.globals)
                     if _really_missing(name, text))
    if missing:
        raise TaskError(f"task template is missing arguments: {', '.join(missing)} "
                        "(give them with --task-args or --task-args-file)")
    try:
        return env.from_string(text).render(**args)
    except jinja2.TemplateError as error:
        raise TaskError(f"task template: {_one_line(error)}")


def _really_missing(name: str, text: str) -> bool:
    """False when the template guards ``name`` (``default`` filter, ``is defined``)."""
    guarded = (
        rf"{name}\s*\|\s*default\(",
        rf"{name}\s+is\s+(not\s+)?defined",
        rf"{name}\s+is\s+(not\s+)?none",
        rf"set\s+{name}\s*=",
    )
    return not any(re.search(pattern, text) for pattern in guarded)


def _one_line(error: Any) -> str:
    return " ".join(str(error).split())


# -- loading ---------------------------------------------------------------------------

def load_task(path: str, task_args: str | None = None,
              task_args_file: str | None = None) -> Task:
    """Read, render, parse and check the task file at ``path``.

    ``task_args`` is JSON or YAML text; ``task_args_file`` a file of the same; the text's
    values win over the file's. Raises TaskError (one line) for anything that cannot run.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as error:
        raise TaskError(f"cannot read task file {path}: {error.strerror}")
    args: dict[str, Any] = {}
    if task_args_file:
        try:
            with open(task_args_file, encoding="utf-8") as stream:
                args.update(parse_task_args(stream.read(), task_args_file))
        except OSError as error:
            raise TaskError(f"cannot read task arguments file {task_args_file}: "
                            f"{error.strerror}")
    args.update(parse_task_args(task_args, "--task-args"))
    rendered = render_task(text, args, os.path.dirname(os.path.abspath(path)))
    return parse_task(rendered)


def parse_task(text: str) -> Task:
    """Parse rendered task text (JSON or YAML, format v1 or v2) and check it."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TaskError(f"task file is not JSON or YAML: {_one_line(error)}")
    if not isinstance(config, dict) or not config:
        raise TaskError("task file is empty or not a mapping")
    return task_from_config(config)


def task_from_config(config: dict[str, Any]) -> Task:
    """A checked Task from a parsed task mapping (format v1 or v2)."""
    version = config.get("version", 1)
    if version == 1:
        task = _from_v1(config)
    elif version == 2:
        task = _from_v2(config)
    else:
        raise TaskError(f"task format version {version!r} is not supported (1 or 2)")
    for workload in task.workloads:
        check_workload(workload)
    return task


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TaskError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _single(value: Any, where: str) -> tuple[str, dict[str, Any]]:
    value = _mapping(value, where)
    if len(value) != 1:
        raise TaskError(f"{where} must have exactly one entry, got {len(value)}")
    [(name, options)] = value.items()
    return str(name), _mapping(options, f"{where} {name}")


def _unknown_keys(given: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TaskError(f"{where}: unsupported key {unknown[0]!r}")


def _from_v1(config: dict[str, Any]) -> Task:
    workloads = []
    for scenario, entries in config.items():
        if not isinstance(entries, list):
            raise TaskError(f"task format v1: {scenario} must map to a list of workloads")
        for entry in entries:
            entry = _mapping(entry, f"workload of {scenario}")
            _unknown_keys(entry, {"args", "runner", "context", "sla", "hooks",
                                  "description"}, f"workload of {scenario}")
            runner = dict(_mapping(entry.get("runner"), "runner"))
            runner_type = runner.pop("type", None)
            if "runner" in entry and runner_type is None:
                raise TaskError(f"workload of {scenario}: runner needs a 'type'")
            workloads.append(_workload(
                subtask=str(scenario), position=0, scenario=str(scenario),
                args=entry.get("args"), runner_type=runner_type or "serial",
                runner=runner, contexts=entry.get("context"), sla_config=entry.get("sla"),
                hooks=entry.get("hooks"), description=entry.get("description", "")))
    return Task(title="Task (adopted from task format v1)", description="", version=1,
                workloads=workloads)


def _from_v2(config: dict[str, Any]) -> Task:
    _unknown_keys(config, {"version", "title", "description", "tags", "subtasks"},
                  "task")
    if "title" not in config:
        raise TaskError("task format v2 needs a 'title'")
    subtasks = config.get("subtasks")
    if not isinstance(subtasks, list) or not subtasks:
        raise TaskError("task format v2 needs a non-empty list of 'subtasks'")
    workloads = []
    for subtask in subtasks:
        subtask = _mapping(subtask, "subtask")
        title = str(subtask.get("title", ""))
        if "workloads" in subtask:
            _unknown_keys(subtask, {"title", "group", "description", "tags",
                                    "run_in_parallel", "workloads"}, f"subtask {title!r}")
            if subtask.get("run_in_parallel"):
                raise TaskError(f"subtask {title!r}: run_in_parallel is not supported")
            entries = subtask["workloads"]
            if not isinstance(entries, list) or not entries:
                raise TaskError(f"subtask {title!r}: 'workloads' must be a non-empty list")
        else:
            _unknown_keys(subtask, {"title", "group", "description", "tags", "scenario",
                                    "runner", "sla", "hooks", "contexts"},
                          f"subtask {title!r}")
            entries = [{key: subtask[key] for key in ("scenario", "runner", "sla", "hooks",
                                                      "contexts", "description")
                        if key in subtask}]
        for position, entry in enumerate(entries):
            entry = _mapping(entry, f"workload of subtask {title!r}")
            _unknown_keys(entry, {"scenario", "description", "runner", "sla", "hooks",
                                  "contexts"}, f"workload of subtask {title!r}")
            if "scenario" not in entry:
                raise TaskError(f"workload of subtask {title!r} has no 'scenario'")
            scenario, args = _single(entry["scenario"], f"subtask {title!r} scenario")
            if "runner" in entry:
                runner_type, runner = _single(entry["runner"], f"subtask {title!r} runner")
            else:
                runner_type, runner = "serial", {}
            workloads.append(_workload(
                subtask=title, position=position, scenario=scenario, args=args,
                runner_type=runner_type, runner=dict(runner),
                contexts=entry.get("contexts"), sla_config=entry.get("sla"),
                hooks=entry.get("hooks"), description=entry.get("description", "")))
    return Task(title=str(config["title"]), description=str(config.get("description", "")),
                version=2, workloads=workloads, tags=list(config.get("tags", [])))


def _workload(subtask: str, position: int, scenario: str, args: Any, runner_type: str,
              runner: dict[str, Any], contexts: Any, sla_config: Any, hooks: Any,
              description: str) -> Workload:
    sla_config = _mapping(sla_config, f"{scenario} sla") if sla_config is not None else {
        "failure_rate": {"max": 0}}
    return Workload(subtask=subtask, position=position, scenario=scenario,
                    args=dict(_mapping(args, f"{scenario} args")),
                    runner_type=str(runner_type), runner=runner,
                    contexts=dict(_mapping(contexts, f"{scenario} contexts")),
                    sla=dict(sla_config), hooks=list(hooks or []),
                    description=str(description or ""))


# -- checking --------------------------------------------------------------------------

def check_workload(workload: Workload) -> None:
    """Raise TaskError naming the first thing of ``workload`` nova-sim cannot run."""
    name = workload.scenario
    try:
        scenarios.check_args(name, workload.args)
        runners.check_config(workload.runner_type, workload.runner)
        sla.check_config(workload.sla)
    except ValueError as error:
        raise TaskError(f"{name}: {error}")
    if workload.hooks:
        raise TaskError(f"{name}: hooks are not supported")
    for context, options in workload.contexts.items():
        base = context.split("@", 1)[0]
        if base not in CONTEXTS:
            raise TaskError(f"{name}: unsupported context {context!r} (nova-sim applies: "
                            f"{', '.join(sorted(CONTEXTS))})")
        options = _mapping(options, f"{name}: context {context}")
        _unknown_keys(options, set(CONTEXTS[base]), f"{name}: context {context}")
        if base == "quotas":
            nova = _mapping(options.get("nova"), f"{name}: quotas nova")
            _unknown_keys(nova, set(NOVA_QUOTAS), f"{name}: quotas nova")
            for key, value in nova.items():
                if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                    raise TaskError(f"{name}: quotas nova {key} must be an integer >= -1")
        if base == "users":
            for key in ("tenants", "users_per_tenant"):
                value = options.get(key, 1)
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise TaskError(f"{name}: users {key} must be a positive integer")
            method = options.get("user_choice_method", "random")
            if method not in ("random", "round_robin"):
                raise TaskError(f"{name}: users user_choice_method {method!r} is not "
                                "random or round_robin")


def task_summary(task: Task) -> str:
    """A few lines saying what the task will run (``--validate`` prints them)."""
    lines = [f"Task {task.title!r} (format v{task.version}): "
             f"{len(task.workloads)} workload(s)"]
    for workload in task.workloads:
        runner = json.dumps(workload.runner, sort_keys=True)
        lines.append(f"  {workload.scenario}  runner {workload.runner_type} {runner}  "
                     f"contexts {', '.join(sorted(workload.contexts)) or '-'}  "
                     f"sla {', '.join(sorted(workload.sla)) or '-'}")
    return "\n".join(lines)
