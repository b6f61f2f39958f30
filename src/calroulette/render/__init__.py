"""Presentation, in one place: results turned into what people read.

- :mod:`.json`: the documented ``--json`` shapes;
- :mod:`.text`: terminal tables and week grids; :mod:`.rounds`, :mod:`.health`,
  :mod:`.delivery`, :mod:`.members`: each command's output, and the ``why`` sentence;
- :mod:`.heatmap` and :mod:`.page`: the overlap heat map and its web page;
- :mod:`.calendar_feed`: the history as an iCalendar file.

The one edge out for time: UTC values are shown in the reader's zone here, and nowhere earlier.
Nothing here decides anything: codes come in, sentences go out.
"""
