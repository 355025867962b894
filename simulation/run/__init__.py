"""The run spine's results on disk: the run-directory schema, its writer and its reader."""

from simulation.run.directory import RunRecord, read_run, run_frames, stored_summary, write_run

__all__ = ["RunRecord", "read_run", "run_frames", "stored_summary", "write_run"]
