"""Private floor shared by every capability: validation, results, FFT, box sums, moments, thread pools.

Nothing here is public API; capabilities import these modules by their full name.
"""
