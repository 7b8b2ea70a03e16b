"""Scale-out on Dask: batches of image pairs on a local pool or a cluster, and images larger than memory.

* :func:`compare_pairs` runs metrics over a table of pairs through the batch engine
  (:mod:`imcorr.parallel.engine`: a job kind is one function in :data:`JOB_KINDS`), streaming rows to a
  crash-safe CSV journal that ``resume=True`` continues.
* :func:`hash_files` and :func:`displacement_fields` are two more job kinds on the same engine;
  :func:`index_add` hashes a folder into an :class:`imcorr.Index` through the ``hash`` kind.
* :func:`local_correlation_tiled` computes :func:`imcorr.local_correlation` chunk by chunk
  (``dask.array.map_overlap``) on dask arrays, ``.npy`` memmaps or Zarr stores, to a dask array or Zarr;
  :func:`ssim_map_tiled` and :func:`match_template_tiled` do the same for the SSIM map and template scores,
  :func:`displacement_field_tiled` for the DIC window grid.

Dask, distributed and Zarr are the optional extra ``imcorr[dask]``; local pools need none of them.
"""

from imcorr.parallel.engine import JOB_KINDS, BatchJob, BatchResult, register_job, run_batch
from imcorr.parallel.jobs import displacement_fields, hash_files, index_add
from imcorr.parallel.pairs import PAIR_METRICS, PairMetric, compare_pairs, read_pairs, register_pair_metric
from imcorr.parallel.tiled import local_correlation_tiled, open_lazy, ssim_map_tiled
from imcorr.parallel.tiled_field import displacement_field_tiled
from imcorr.parallel.tiled_match import match_template_tiled

__all__ = [
    "BatchJob",
    "BatchResult",
    "JOB_KINDS",
    "PAIR_METRICS",
    "PairMetric",
    "compare_pairs",
    "displacement_field_tiled",
    "displacement_fields",
    "hash_files",
    "index_add",
    "local_correlation_tiled",
    "match_template_tiled",
    "open_lazy",
    "read_pairs",
    "register_job",
    "register_pair_metric",
    "run_batch",
    "ssim_map_tiled",
]
