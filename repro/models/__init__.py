"""Gluon GoogLeNet variants, their specs and weight sources, and the parameter/multiply-add counter."""
