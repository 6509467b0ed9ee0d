"""Clean text at every entry: ``abah.core.text.clean_text`` and the one mechanism every form uses.

The per-entry tests (a form posted, an import uploaded, a search with a NUL) live with each app:
tests/<app>/test_clean_text_entries.py.
"""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django import forms
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

import abah
from abah.core.forms import CleanTextMixin
from abah.core.text import clean_data, clean_text, param

# ---------------------------------------------------------------- clean_text


@pytest.mark.parametrize(("raw", "expected"), [
    ("Yayasan\x00 Nurul Huda", "Yayasan Nurul Huda"),
    ("\x00\x00", ""),
    ("a\x01b\x07c\x08d\x0be\x0cf\x1bg\x1fh\x7fi", "abcdefghi"),  # C0 controls, ESC, DEL
    ("tab\tline\nreturn\r\n", "tab\tline\nreturn\r\n"),  # TAB, LF and CR stay
    ("c1\x80\x9f", "c1"),  # C1 controls
    ("one\x85two", "one\ntwo"),  # NEL is a line end
    ("one\u2028two\u2029three", "one\ntwo\nthree"),  # line / paragraph separator
    ("no\ufffe\uffffchar", "nochar"),  # noncharacters
    ("lone \ud800 high", "lone \ufffd high"),
    ("lone \udc00 low", "lone \ufffd low"),
    ("low then high \udc00\ud800", "low then high \ufffd\ufffd"),
    ("pair \ud83d\ude00 joined", "pair \U0001f600 joined"),  # a pair that arrived as two code points
    ("emoji \U0001f600 kept, ü é ñ 日本 kept", "emoji \U0001f600 kept, ü é ñ 日本 kept"),
    ("\ufffd stays", "\ufffd stays"),
    ("", ""),
])
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected
    assert clean_text(expected) == expected  # idempotent
    clean_text(raw).encode("utf-8")  # always encodable


def test_clean_text_non_strings():
    assert clean_text(None) == ""
    assert clean_text(42) == "42"


def test_clean_text_returns_clean_text_itself():
    text = "Pembangunan Masjid\nRp400.000.000,00"
    assert clean_text(text) is text  # the common case does no work


# ---------------------------------------------------------------- query parameters and form data


def test_param_cleans_a_query_parameter():
    params = QueryDict("q=ab%00c%01&n=%ED%A0%80&empty=")
    assert param(params, "q") == "abc"
    assert param(params, "n") == "\ufffd" * 3  # invalid UTF-8 decoded with replacement
    assert param(params, "empty") == ""
    assert param(params, "missing") == ""
    assert param(params, "missing", "x") == "x"


def test_clean_data_copies_every_kind_of_data():
    query = QueryDict("a=1%002&a=%013&b=ok")
    cleaned = clean_data(query)
    assert cleaned.getlist("a") == ["12", "3"] and cleaned["b"] == "ok"
    assert query.getlist("a") == ["1\x002", "\x013"]  # the request's own data is not changed
    multi = clean_data(MultiValueDict({"a": ["x\x00"], "b": [1]}))
    assert multi.getlist("a") == ["x"] and multi.getlist("b") == [1]
    plain = clean_data({"a": "x\x00", "b": ["y\x00", 2], "n": 5, "secret": "p\x00"}, keep={"secret"})
    assert plain == {"a": "x", "b": ["y", 2], "n": 5, "secret": "p\x00"}


class _Example(CleanTextMixin, forms.Form):
    name = forms.CharField(max_length=20)
    note = forms.CharField(required=False, widget=forms.Textarea)
    tags = forms.MultipleChoiceField(choices=[("a", "a"), ("b", "b")], required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False)


def test_mixin_removes_nul_instead_of_refusing_it():
    plain = type("Plain", (forms.Form,), {"name": forms.CharField()})(data={"name": "Nur\x00"})
    assert not plain.is_valid()  # Django refuses NUL with a generic error: what the mixin prevents

    form = _Example(data=QueryDict("name=Nur%00+Hidayat&note=a%E2%80%A8b%07&tags=a&tags=b%00"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Nur Hidayat"
    assert form.cleaned_data["note"] == "a\nb"
    assert form.cleaned_data["tags"] == ["a", "b"]
    assert form.data["name"] == "Nur Hidayat"  # shown again cleaned


def test_mixin_with_prefix_and_password_left_as_typed():
    form = _Example(data={"x-name": "\x00A\x01", "x-password": "p\x01w"}, prefix="x")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "A"
    assert form.cleaned_data["password"] == "p\x01w"


def test_a_field_of_only_nul_becomes_empty_and_required_says_so():
    form = _Example(data={"name": "\x00\x00"})
    assert not form.is_valid()
    assert form.errors["name"] == [forms.Field.default_error_messages["required"]]


# ---------------------------------------------------------------- every form of the project uses it

ROOT = Path(abah.__file__).resolve().parent


def _project_modules():
    names = []
    for info in pkgutil.walk_packages([str(ROOT)], prefix="abah."):
        if ".migrations" in info.name:
            continue
        names.append(info.name)
    return [importlib.import_module(name) for name in sorted(names)]


def _all_subclasses(cls):
    seen, todo = set(), [cls]
    for _ in range(100_000):  # bounded walk over the class tree
        if not todo:
            break
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def test_every_form_class_of_the_project_cleans_text():
    _project_modules()
    project_forms = [c for c in _all_subclasses(forms.BaseForm) if c.__module__.startswith("abah.")]
    assert len(project_forms) >= 30, "the walk should find every form of the project"
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in project_forms if not issubclass(c, CleanTextMixin))
    assert not missing, f"forms without abah.core.forms.CleanTextMixin (use abah.core.forms.Form): {missing}"


def _dotted(node):
    parts = []
    for _ in range(20):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return list(reversed(parts))
        else:
            return None
    return None


def _resolve(module, parts):
    value = module
    for part in parts:
        value = getattr(value, part, None) if value is not module else vars(module).get(part)
        if value is None:
            return None
    return value


def test_no_view_uses_a_form_that_does_not_clean_text():
    """Django's own forms (PasswordChangeForm, AuthenticationForm, …) used directly would escape the mixin:
    every form class a module of the project names, outside a class's bases, must clean text."""
    offenders = []
    for module in _project_modules():
        if module.__name__ == "abah.core.forms" or not getattr(module, "__file__", None):
            continue
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        bases = {id(base) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) for base in node.bases}
        # ``SomeForm.error_messages``: reading an attribute of a form class is not using the form.
        bases |= {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Name, ast.Attribute)) or id(node) in bases:
                continue
            parts = _dotted(node)
            value = _resolve(module, parts) if parts else None
            if inspect.isclass(value) and issubclass(value, forms.BaseForm) and not issubclass(value, CleanTextMixin):
                offenders.append(f"{module.__name__}:{node.lineno} {'.'.join(parts)}")
    assert not offenders, f"forms used without CleanTextMixin: {sorted(set(offenders))}"
