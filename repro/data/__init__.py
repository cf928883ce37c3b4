"""Datasets: image decoding, the real ILSVRC readers (:mod:`repro.data.ilsvrc`), the mini-ILSVRC
generator (:mod:`repro.data.mini`) and the label-source resolver shared by the commands."""
