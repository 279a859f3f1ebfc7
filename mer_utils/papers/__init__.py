"""One module per paper: its configuration per profile and the steps its notebook calls.

    javadi.py     Javadi et al.     (notebooks 02, 10)
    cazzaniga.py  Cazzaniga et al.  (notebook 20)
    sun.py        Sun et al.        (notebook 30)
    velankar.py   Velankar et al.   (notebook 40)
    louro.py      Louro et al.      (notebook 50)

Rules (checked by ``tests/test_layers.py``): a paper imports shared modules only, never
another paper; no shared module imports a paper. A paper module holds

* ``Config`` — a frozen dataclass derived from :class:`mer_utils.experiment.PaperConfig`,
  the paper's values as defaults (each a :func:`~mer_utils.experiment.setting` with the
  paper's words), and ``PROFILES`` scaling them for ``smoke`` / ``demo``;
* the steps its notebook calls, each a plain function of (ctx, cfg, data...) that returns
  tables, arrays or figures; training loops run through
  :func:`mer_utils.experiment.run_protocol` so that they resume and never half-replace
  stored results;
* ``FIDELITY`` — the points where the code follows or departs from the paper (point,
  paper's words, our choice, status), shown by the notebook.
"""
