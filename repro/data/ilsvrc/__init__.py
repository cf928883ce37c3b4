"""Readers of the real ILSVRC material: on-disk layouts, class lists, classification label formats
(devkit, Caffe, Kaggle, folders, RecordIO) into the canonical index, DET devkit files, ImageNet-ReaL."""
