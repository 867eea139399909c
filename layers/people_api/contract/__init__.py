"""The API's contract, from which `make openapi` (tools/openapi.py) writes docs/openapi.yaml.

- `models`: pydantic models of every body the API reads or answers (the document's schemas).
- `operations`: each route's answers, parameters, headers and examples, and the document's other parts.

Nothing at run time imports this package: the functions answer plain JSON, which tests hold to these models
(tests/integration/test_answers_match_models.py) and schemathesis to the document.
"""
