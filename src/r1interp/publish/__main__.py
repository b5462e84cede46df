"""CLI: ``r1interp publish [--dry-run] [--repo ORG/{model}-transcoders] [--neuronpedia] ...``.

For each model of the run: build ``<out>/<model>/`` (see :mod:`r1interp.publish.release`), print its
files and sizes, then (without ``--dry-run``) sync it to the Hub repo and upload its graphs to
Neuronpedia. Settings come from the optional ``publish:`` section of the config; flags override.
Secrets: ``HF_TOKEN`` and ``NEURONPEDIA_API_KEY`` from the environment only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.publish")


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="r1interp publish", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configfile", action="append", default=[], help="merged over config.yaml, as with snakemake")
    ap.add_argument("--config", default="config.yaml", help="base config (default: config.yaml)")
    ap.add_argument("--results", default="results")
    ap.add_argument("--models", nargs="+", help="default: run.models of the config")
    ap.add_argument("--out", default=None, help="release folders go to <out>/<model>/ (default: <results>/release)")
    ap.add_argument("--dry-run", action="store_true", help="write the folders and list them; upload nothing")
    ap.add_argument("--repo", help="Hub repo id, '{model}' is replaced (config: publish.repo)")
    ap.add_argument("--endpoint", help="Hub endpoint (config: publish.endpoint; default huggingface.co or HF_ENDPOINT)")
    ap.add_argument("--private", action="store_true")
    ap.add_argument("--neuronpedia", action="store_true", help="also upload the graphs to Neuronpedia")
    ap.add_argument("--neuronpedia-url", help="server base URL (config: publish.neuronpedia_url; default neuronpedia.org)")
    ap.add_argument("--neuronpedia-model", help="Neuronpedia model id, '{model}' replaced (config: publish.neuronpedia_model)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    setup_logging()
    from r1interp.config import load_config
    from r1interp.publish.release import ReleaseError, build_release, human

    cfg = load_config(args.config, *args.configfile) if (Path(args.config).is_file() or args.configfile) else {}
    pub = cfg.get("publish") or {}
    models = args.models or cfg.get("run", {}).get("models")
    if not models:
        raise SystemExit("no models: pass --models or a config with run.models")
    repo_tpl = args.repo or pub.get("repo")
    endpoint = args.endpoint or pub.get("endpoint")
    np_url = args.neuronpedia_url or pub.get("neuronpedia_url")
    np_model = args.neuronpedia_model or pub.get("neuronpedia_model") or "{model}"
    token = os.environ.get("HF_TOKEN")
    if not args.dry_run:  # every check before any file is written or sent
        if not repo_tpl:
            raise SystemExit("uploading needs --repo (or publish.repo in the config), e.g. --repo myorg/{model}-transcoders")
        if not token:
            raise SystemExit("HF_TOKEN is not set: export a Hub write token (it is read from the environment only)")
        if args.neuronpedia and not os.environ.get("NEURONPEDIA_API_KEY"):
            raise SystemExit("--neuronpedia needs NEURONPEDIA_API_KEY in the environment")
    results = Path(args.results)
    out = Path(args.out) if args.out else results / "release"
    failed = []
    for model in models:
        repo_id = repo_tpl.format(model=model) if repo_tpl else None
        try:
            files = build_release(results, model, out / model, repo_id=repo_id)
        except ReleaseError as e:
            log.error("%s", e)
            failed.append(model)
            continue
        print(f"\n{out / model}/  ({len(files)} files, {human(sum(f.size for f in files))})" + (f"  → {repo_id}" if repo_id else ""))
        for f in files:
            print(f"  {f.size:>12,d}  {f.path}")
        if args.dry_run:
            continue
        from r1interp.publish.hub import upload_release

        res = upload_release(out / model, repo_id, token=token, endpoint=endpoint, private=args.private)
        print(f"hub {repo_id}: {len(res.uploaded)} uploaded, {len(res.unchanged)} already there"
              + (f" ({res.commit_url})" if res.commit_url else ""))
        if args.neuronpedia:
            from r1interp.publish.neuronpedia import upload_graphs

            g = upload_graphs(out / model, np_model.format(model=model), base_url=np_url)
            print(f"neuronpedia {np_model.format(model=model)}: {len(g.uploaded)} uploaded, {len(g.existing)} already there, "
                  f"{len(g.failed)} failed")
            if g.failed:
                failed.append(f"{model} (graphs: {', '.join(g.failed)})")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
