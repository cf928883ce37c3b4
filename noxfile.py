"""nox sessions: one per artefact. `nox -s reproduce` (the main job) and `nox -s tests` are the two a
newcomer needs; the others build single artefacts. Heavy sessions are not defaults."""
from __future__ import annotations

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True

RESULTS = "results"


def _install(session: nox.Session, extras: str = "") -> None:
    session.install("-e", f".[{extras}]" if extras else ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (no network, no GPU, no ImageNet; uses ../shared/data when present)."""
    _install(session, "test")
    session.run("pytest", *(session.posargs or ["-q"]))


@nox.session
def architecture(session: nox.Session) -> None:
    """Table 1 counted from the Gluon graph, paper and GluonCV variants, into results/."""
    _install(session)
    _architecture(session)


def _architecture(session: nox.Session) -> None:
    session.run("repro", "arch", "--variant", "paper", "--csv", f"{RESULTS}/table1_architecture.csv",
                "--markdown", f"{RESULTS}/table1_architecture.md")
    session.run("repro", "arch", "--variant", "gluoncv",
                "--csv", f"{RESULTS}/table1_architecture_gluoncv.csv",
                "--markdown", f"{RESULTS}/table1_architecture_gluoncv.md", silent=True)


@nox.session
def reproduce(session: nox.Session) -> None:
    """The main job: Table 1 from the code and the paper's Tables 2-5 as reference, into results/."""
    _install(session)
    _architecture(session)
    for number in (2, 3, 4, 5):
        session.run("repro", "table", str(number), "--out", RESULTS)
