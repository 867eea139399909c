"""The API's routes agree in template.yaml, docs/openapi.yaml and the functions' code.

Each API route is declared three times: an `Api` event of a function in template.yaml,
a path and method in docs/openapi.yaml, and the `@app.get(...)`/`@app.post(...)` route
of the function's app.py. These tests fail when one of them gains or loses a route the
others do not have, when a functions/ folder is not exactly one template function, and
when a function has no sample event in events/. The authorizer wiring is held the same way:
which authorizer the template puts on each route, the `security` the OpenAPI document declares
for it, and the permission people_api.access opens it with.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml

from conftest import load_template
from people_api.auth import access

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
RESOLVER_METHODS = HTTP_METHODS - {"trace"}

Route = tuple[str, str]  # (METHOD, path with every parameter written "{}")


def normalise(path: str) -> str:
    """`/people/{id}` and `/people/<person_id>` both become `/people/{}`; no trailing slash."""
    path = re.sub(r"\{[^}/]+\}|<[^>/]+>", "{}", path.strip())
    return path.rstrip("/") or "/"


def template_functions(root: Path) -> dict[str, dict]:
    """Logical id -> properties of every AWS::Serverless::Function."""
    resources = load_template(root / "template.yaml").get("Resources") or {}
    return {
        name: resource.get("Properties") or {}
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def folder_of(code_uri) -> str | None:
    """`functions/ping/` -> `ping`; None for a CodeUri that is not a functions/ folder."""
    if not isinstance(code_uri, str):
        return None
    parts = Path(code_uri.strip()).parts
    return parts[1] if len(parts) == 2 and parts[0] == "functions" else None


def template_routes(root: Path) -> dict[str, set[Route]]:
    """functions/ folder -> the API routes its template function's events serve."""
    routes: dict[str, set[Route]] = {}
    for name, properties in template_functions(root).items():
        folder = folder_of(properties.get("CodeUri")) or f"<{name}: CodeUri {properties.get('CodeUri')!r}>"
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") not in ("Api", "HttpApi"):
                continue
            event_properties = event.get("Properties") or {}
            method = str(event_properties.get("Method", "")).lower()
            assert method in HTTP_METHODS, f"{name}: an Api event with method {method!r} (use one method per event)"
            routes.setdefault(folder, set()).add((method.upper(), normalise(event_properties["Path"])))
    return routes


def openapi_routes(root: Path) -> set[Route]:
    document = yaml.safe_load((root / "docs" / "openapi.yaml").read_text())
    return {
        (method.upper(), normalise(path))
        for path, item in (document.get("paths") or {}).items()
        for method in item
        if method in HTTP_METHODS
    }


def code_routes(app_py: Path) -> set[Route]:
    """The routes an app.py declares with @app.get("/..."), @app.post(...), @app.route(..., method=...)."""
    routes: set[Route] = set()
    for node in ast.walk(ast.parse(app_py.read_text(), filename=str(app_py))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            verb = decorator.func.attr
            if verb not in RESOLVER_METHODS | {"route"}:
                continue
            rule = _argument(decorator, 0, "rule")
            assert isinstance(rule, str), f"{app_py}:{decorator.lineno}: the route's path must be a string literal"
            if verb == "route":
                methods = _argument(decorator, 1, "method") or "GET"
                methods = [methods] if isinstance(methods, str) else list(methods)
            else:
                methods = [verb]
            routes |= {(method.upper(), normalise(rule)) for method in methods}
    return routes


def _argument(call: ast.Call, position: int, keyword: str):
    if len(call.args) > position:
        return ast.literal_eval(call.args[position])
    for kw in call.keywords:
        if kw.arg == keyword:
            return ast.literal_eval(kw.value)
    return None


def function_folders(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "functions").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def functions_on_disk_routes(root: Path) -> dict[str, set[Route]]:
    """functions/ folder -> the routes its app.py declares (folders that declare none left out)."""
    routes = {}
    for folder in function_folders(root):
        app_py = root / "functions" / folder / "app.py"
        declared = code_routes(app_py) if app_py.is_file() else set()
        if declared:
            routes[folder] = declared
    return routes


def route_problems(root: Path) -> list[str]:
    """Every disagreement between the template, the OpenAPI document and the code; [] when they agree."""
    problems = []
    in_template = template_routes(root)
    in_code = functions_on_disk_routes(root)
    template_all = [route for routes in in_template.values() for route in routes]
    code_all = [route for routes in in_code.values() for route in routes]
    for where, listed in (("template.yaml", template_all), ("functions/*/app.py", code_all)):
        for route in sorted({r for r in listed if listed.count(r) > 1}):
            problems.append(f"{where} serves {route} more than once")
    documented = openapi_routes(root)
    for route in sorted(set(template_all) | documented | set(code_all)):
        missing = [
            where
            for where, routes in (
                ("template.yaml", set(template_all)),
                ("docs/openapi.yaml", documented),
                ("functions/*/app.py", set(code_all)),
            )
            if route not in routes
        ]
        if missing:
            problems.append(f"{route[0]} {route[1]} is missing from {', '.join(missing)}")
    for folder in sorted(set(in_template) | set(in_code)):
        if in_template.get(folder, set()) != in_code.get(folder, set()):
            problems.append(
                f"functions/{folder}: the template routes {sorted(in_template.get(folder, set()))} to it, "
                f"its app.py declares {sorted(in_code.get(folder, set()))}"
            )
    return problems


def folder_problems(root: Path) -> list[str]:
    """functions/ folders and template functions that are not one to one."""
    problems = []
    uses: dict[str, list[str]] = {}
    for name, properties in template_functions(root).items():
        folder = folder_of(properties.get("CodeUri"))
        if folder is None:
            problems.append(f"{name}: CodeUri {properties.get('CodeUri')!r} is not a functions/<name>/ folder")
        else:
            uses.setdefault(folder, []).append(name)
    on_disk = function_folders(root)
    for folder in on_disk:
        if len(uses.get(folder, [])) != 1:
            problems.append(f"functions/{folder} is the CodeUri of {len(uses.get(folder, []))} template functions")
        if not (root / "functions" / folder / "app.py").is_file():
            problems.append(f"functions/{folder} has no app.py")
    for folder, names in sorted(uses.items()):
        if folder not in on_disk:
            problems.append(f"{', '.join(names)}: CodeUri functions/{folder}/ does not exist")
    return problems


def missing_events(root: Path) -> list[str]:
    return [folder for folder in function_folders(root) if not (root / "events" / f"{folder}.json").is_file()]


# Who may call each route: "open" (anyone), "token" (a token with a permission), "reads" (public unless
# PeopleReadsAuthorizer makes them need any valid token).


def template_access(root: Path) -> dict[Route, str]:
    template = load_template(root / "template.yaml")
    api_auth = (template["Resources"]["PeopleApi"]["Properties"].get("Auth")) or {}
    kinds = {"Anyone": "open", "BearerToken": "token", "default": "reads"}
    assert api_auth.get("DefaultAuthorizer") == {"Ref": "PeopleReadsAuthorizer"}
    assert template["Parameters"]["PeopleReadsAuthorizer"]["AllowedValues"] == ["", "BearerToken"]
    routes = {}
    for properties in template_functions(root).values():
        for event in (properties.get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            event_properties = event["Properties"]
            authorizer = (event_properties.get("Auth") or {}).get("Authorizer", "default")
            route = (event_properties["Method"].upper(), normalise(event_properties["Path"]))
            routes[route] = kinds.get(authorizer, f"unknown authorizer {authorizer!r}")
    return routes


def openapi_access(root: Path) -> dict[Route, str]:
    document = yaml.safe_load((root / "docs" / "openapi.yaml").read_text())
    kinds = {"[]": "open", '[{"bearerAuth": []}]': "token", '[{}, {"bearerAuth": []}]': "reads"}
    access_of = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                security = json.dumps(operation.get("security"))  # plain text, whatever mappings YAML gave
                access_of[(method.upper(), normalise(path))] = kinds.get(security, f"security {security}")
    return access_of


def layer_access(route: Route) -> str:
    """How people_api.access opens a route: the kind of the permissions whose policy resources match it."""
    method, path = route
    concrete = path.replace("{}", "x")

    def opens(routes) -> bool:
        return any(m == method and fnmatchcase(concrete, pattern) for m, pattern in routes)

    if opens(access.OPEN_ROUTES):
        return "open"
    permissions = {permission for permission, routes in access.ROUTES.items() if opens(routes)}
    if permissions == {access.READ_PEOPLE}:
        return "reads"
    return "token" if len(permissions) == 1 else f"permissions {sorted(permissions)}"


def auth_problems(root: Path) -> list[str]:
    problems = []
    in_template, in_openapi = template_access(root), openapi_access(root)
    for route in sorted(set(in_template) | set(in_openapi)):
        kinds = {
            "template.yaml": in_template.get(route),
            "docs/openapi.yaml": in_openapi.get(route),
            "people_api.access": layer_access(route),
        }
        if len(set(kinds.values())) > 1:
            problems.append(f"{route[0]} {route[1]}: {', '.join(f'{where} {kind}' for where, kind in kinds.items())}")
    concrete = [(m, p.replace("{}", "x")) for m, p in in_template]
    for method, pattern in [*access.OPEN_ROUTES, *(r for routes in access.ROUTES.values() for r in routes)]:
        if not any(m == method and fnmatchcase(path, pattern) for m, path in concrete):
            problems.append(f"people_api.access opens {method} {pattern}, which no route of template.yaml is")
    return problems


# The real tree.


def test_routes_agree_in_template_openapi_and_code():
    assert route_problems(ROOT) == []


def test_every_function_folder_is_one_template_function():
    assert folder_problems(ROOT) == []


def test_every_function_has_a_sample_event():
    assert missing_events(ROOT) == [], "events/<function folder>.json missing"


def test_the_checks_see_the_known_routes():
    # Guards against the parsing silently finding nothing (then everything would "agree").
    assert ("GET", "/people/{}") in openapi_routes(ROOT)
    assert template_routes(ROOT)["get_person"] == {("GET", "/people/{}")}
    assert functions_on_disk_routes(ROOT)["create_person"] == {("POST", "/people")}


# The checks themselves, on a copy of the tree with one place changed.


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of what the checks read: template.yaml, docs/openapi.yaml, functions/*/app.py, events/."""
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "openapi.yaml", tmp_path / "docs" / "openapi.yaml")
    shutil.copytree(ROOT / "events", tmp_path / "events")
    for folder in function_folders(ROOT):
        (tmp_path / "functions" / folder).mkdir(parents=True)
        app_py = ROOT / "functions" / folder / "app.py"
        if app_py.is_file():
            shutil.copy(app_py, tmp_path / "functions" / folder / "app.py")
    assert route_problems(tmp_path) == route_problems(ROOT)
    assert folder_problems(tmp_path) == folder_problems(ROOT)
    return tmp_path


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _add_to_template(root: Path) -> None:
    _add_template_function(root, "ReplacePersonFunction", "get_person", "/people/{id}", "put")


def _add_template_function(root: Path, name: str, folder: str, path: str, method: str) -> None:
    template = root / "template.yaml"
    text = template.read_text()
    addition = f"""
  {name}:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/{folder}/
      Events:
        Api:
          Type: Api
          Properties:
            RestApiId: !Ref PeopleApi
            Path: {path}
            Method: {method}
"""
    template.write_text(text.replace("\nOutputs:", addition + "\nOutputs:", 1))


def _add_to_openapi(root: Path) -> None:
    document = root / "docs" / "openapi.yaml"
    text = document.read_text()
    addition = """  /people/{id}/friends:
    get:
      responses:
        "200":
          description: Friends.
"""
    document.write_text(text.replace("\ncomponents:", "\n" + addition + "\ncomponents:", 1))


def _add_to_code(root: Path) -> None:
    _append(
        root / "functions" / "get_person" / "app.py",
        '\n\n@app.put("/people/<person_id>")\ndef replace_person(person_id: int) -> dict:\n    return {}\n',
    )


@pytest.mark.parametrize(
    ("add_route", "problem"),
    [
        (_add_to_template, "PUT /people/{} is missing from docs/openapi.yaml, functions/*/app.py"),
        (_add_to_openapi, "GET /people/{}/friends is missing from template.yaml, functions/*/app.py"),
        (_add_to_code, "PUT /people/{} is missing from template.yaml, docs/openapi.yaml"),
    ],
    ids=["template", "openapi", "code"],
)
def test_a_route_added_in_one_place_only_is_reported(tree: Path, add_route, problem: str):
    add_route(tree)
    assert problem in route_problems(tree)
    assert problem not in route_problems(ROOT)


def test_a_route_added_everywhere_is_accepted_but_needs_a_sample_event(tree: Path):
    _add_template_function(tree, "FriendsFunction", "friends", "/people/{person}/friends", "get")
    _add_to_openapi(tree)
    (tree / "functions" / "friends").mkdir()
    (tree / "functions" / "friends" / "app.py").write_text('@app.get("/people/<pid>/friends")\ndef f(): ...\n')
    assert route_problems(tree) == route_problems(ROOT)
    assert folder_problems(tree) == folder_problems(ROOT)
    assert "friends" in missing_events(tree)


def test_a_route_moved_to_another_function_is_reported(tree: Path):
    # Same routes overall, but the template sends GET /ping to list_people's code.
    template = tree / "template.yaml"
    template.write_text(template.read_text().replace("CodeUri: functions/ping/", "CodeUri: functions/list_people/", 1))
    assert route_problems(tree) != route_problems(ROOT)
    assert folder_problems(tree) != folder_problems(ROOT)


def test_a_folder_without_a_template_function_is_reported(tree: Path):
    (tree / "functions" / "orphan").mkdir()
    (tree / "functions" / "orphan" / "app.py").write_text("")
    assert "functions/orphan is the CodeUri of 0 template functions" in folder_problems(tree)


def test_the_authorizer_wiring_agrees_in_template_openapi_and_layer():
    assert auth_problems(ROOT) == []


def test_the_authorizer_checks_see_the_known_wiring():
    assert template_access(ROOT)[("POST", "/people")] == "token"
    assert openapi_access(ROOT)[("GET", "/people/{}")] == "reads"
    assert layer_access(("GET", "/ping")) == "open"


def test_a_write_left_without_the_authorizer_is_reported(tree: Path):
    template = tree / "template.yaml"
    text = template.read_text()
    secured_post = "Path: /people\n            Method: post\n            Auth:\n              Authorizer: BearerToken\n"
    assert secured_post in text
    template.write_text(text.replace(secured_post, "Path: /people\n            Method: post\n"))

    assert "POST /people: template.yaml reads, docs/openapi.yaml token, people_api.access token" in auth_problems(tree)


def test_an_operation_documented_as_public_is_reported(tree: Path):
    document = tree / "docs" / "openapi.yaml"
    document.write_text(document.read_text().replace("security:\n      - bearerAuth: []\n", "security: []\n", 1))

    assert any(problem.startswith("POST /people:") for problem in auth_problems(tree))


def test_template_tags_are_tolerated():
    template = load_template()
    assert template["Globals"]["Function"]["Runtime"] == {"Ref": "PythonRuntime"}
    has_db_secret = {"Fn::Not": [{"Fn::Equals": [{"Ref": "DbSecretArn"}, ""]}]}
    assert template["Conditions"]["HasDbSecret"] == has_db_secret
