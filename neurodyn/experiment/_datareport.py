"""report.md of a `[data]` run: the recording, the behaviour-decoding table, the LINT rank
sweep, the fitted network's flow field and fixed points."""

from __future__ import annotations

from pathlib import Path

from ._config import Config


def _fig(run_dir: Path, stem: str, caption: str) -> str:
    """A figure of the run folder in Markdown (PNG shown, PDF linked), or "" if absent."""
    if not (run_dir / f"{stem}.png").is_file():
        return ""
    return f"![{caption}]({stem}.png)\n\n([PDF]({stem}.pdf))\n\n"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _fixed_points_line(fp: dict) -> str:
    moduli = ", ".join(f"{m:.3g}" for m in fp["leading_eigenvalue_modulus"][:6])
    return (f"{fp['n_points']} fixed point(s), {fp['n_stable']} stable"
            + (f" (largest eigenvalue modulus {moduli})" if moduli else ""))


def data_report_md(config: Config, metrics: dict, info: dict, run_dir: Path, bib: str) -> str:
    """The report of a [data] run (see `neurodyn.experiment.run`)."""
    d = config.data
    run_dir = Path(run_dir)
    rec = metrics.get("recording") or {}
    git = info["git"]
    lines = [
        f"# Run `{config.name}`: recording `{d.path}`\n",
        f"neurodyn {info['versions']['neurodyn']}, JAX {info['versions']['jax']}; "
        + (f"git commit `{git['commit'][:12]}`" + (" (with uncommitted changes)"
                                                  if git["dirty"] else "")
           if git else "not run from a git checkout")
        + f". Finished {info['finished']}. The resolved config is in `config.toml`.\n",
        "## Recording\n",
        f"{rec.get('n_trials')} trials of {rec.get('n_channels')} channels, "
        f"{rec.get('n_behaviour')} behaviour and {rec.get('n_inputs')} input signal(s); bins of "
        f"{_fmt(rec.get('dt_ms'))} ms"
        + (f", smoothed with a Gaussian of {d.smooth_ms:g} ms" if d.smooth_ms else "")
        + (f", aligned to `{d.align}` from {d.before_ms:g} ms before to "
           + (f"{d.after_ms:g} ms after" if d.after_ms is not None else "each trial's stop")
           if d.align else "")
        + f". Trial conditions: {', '.join(rec.get('conditions') or []) or 'none'}. "
        f"The preprocessed recording is `recording.npz` (`nd.data.read_npz`).\n",
        _fig(run_dir, "recording", "trial averages of activity, behaviour and inputs"),
    ]
    dec = metrics.get("decoding")
    if dec:
        lines.append("## Behaviour decoding (PSID / IPSID / DPAD)\n")
        lines.append("| method | measured inputs | behaviour CC | behaviour R² | fixed points |\n"
                     "|---|---|---|---|---|")
        for m in ("psid", "ipsid", "dpad"):
            if m in dec:
                r = dec[m]
                lines.append(f"| {m.upper()} | {'yes' if r['inputs'] else 'no'} | "
                             f"{_fmt(r.get('cc'))} | {_fmt(r.get('r2'))} | "
                             f"{_fixed_points_line(r['fixed_points'])} |")
        if "dpad" in dec and d.dpad_neural == "poisson":
            lines.append("\nDPAD's neural observations are Poisson (spike counts).")
        lines.append(f"\nnx = {dec['nx']}, n1 = {dec['n1']}; fitted on {dec['n_train_trials']} "
                     f"trials, scored on {dec['n_test_trials']} held-out trials. Fixed points "
                     "of each model's latent recursion with the neural input at its mean and no "
                     "stimulus (`<method>_fixedpoints.eqx`).\n")
        lines.append(_fig(run_dir, "decoding", "behaviour decoding"))
    elif any(m in d.analyses for m in ("psid", "ipsid", "dpad")):
        lines.append("## Behaviour decoding\n\nNot available: the decoding stage did not run.\n")
    li = metrics.get("lint")
    if li:
        lines.append("## Low-rank RNNs fitted to the activity (LINT)\n")
        lines.append("| rank | R² training trials | R² held-out trials |\n|---|---|---|")
        for r, a, b in zip(li["ranks"], li["r2_train"], li["r2_test"]):
            mark = " **(chosen)**" if r == li["chosen_rank"] else ""
            lines.append(f"| {r}{mark} | {_fmt(a)} | {_fmt(b)} |")
        lines.append(f"\nChosen rank **{li['chosen_rank']}** (the smallest within "
                     f"{d.lint.tolerance:g} of the best held-out R²); N = {li['n_neurons']}, "
                     f"{li['readout']} readout, fitted to "
                     + ("condition averages" if li["averaged"] else "single trials")
                     + " (`nd.load(\"lint.eqx\")`).\n")
        lines.append(_fig(run_dir, "lint_ranks", "explained variance against rank"))
        lines.append(f"Its fixed points at zero input: {_fixed_points_line(li['fixed_points'])}"
                     " (`lint_fixedpoints.eqx`)"
                     + (f"; in the latent flow field: {len(li['flow_field_fixed_points'])}"
                        if "flow_field_fixed_points" in li else "")
                     + ".\n")
        lines.append(_fig(run_dir, "lint_dynamics", "latent flow field and fixed points"))
    lines.append("## Citing\n")
    lines.append("If you use these results, please cite neurodyn and the methods used:\n")
    lines.append("```bibtex\n" + bib + "```\n")
    return "\n".join(lines)
