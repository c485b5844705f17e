"""Synthetic face videos written in the raw layouts of 300-W, 300-VW and Talking Face (the embedded default).

    redbench.datasets.synthetic.config.SyntheticConfig     the seed and sizes (params.yaml section `synthetic:`)
    redbench.datasets.synthetic.generate.write_dataset     write_dataset(dataset, out_dir, cfg, progress=False)
"""
