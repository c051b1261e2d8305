// Space-time diagrams in Lamport's style ("Time, Clocks, and the Ordering of Events in a
// Distributed System", 1978, figure 1), written as SVG: one line per process, a dot per event,
// an arrow per message. Any service can draw its runs with it: the physical clocks show their
// anomalies, the lock service its critical sections and request queues.
//
// Time flows from left to right, and the processes are horizontal lines, the first at the top.
// Lamport drew time upward; sideways leaves room to write a label along each line. Times are in
// one unit, `time_unit`, and the diagram is scaled to fit `width` pixels, whatever the range.
// An arrow goes where it is told: a message received at an earlier time than it was sent is
// drawn pointing back in time, which is what a diagram in clock time (rather than real time)
// may need to show.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lamina::viz {

struct Diagram {
  std::string title;
  std::vector<std::string> processes; // one line each, named at its left end

  // A dot on a process line at a time, with a label above it (a clock value, say).
  struct Event {
    std::size_t process = 0;
    double time = 0;
    std::string label;
  };
  // An arrow from one process line to another (or back to the same one, drawn as a loop above
  // it). `highlight` draws it in red: an anomaly, a message that broke a rule.
  struct Message {
    std::size_t from = 0;
    double sent = 0;
    std::size_t to = 0;
    double received = 0;
    std::string label;
    bool highlight = false;
  };
  // A shaded band on a process line from `begin` to `end`: a critical section, a lease.
  struct Interval {
    std::size_t process = 0;
    double begin = 0;
    double end = 0;
    std::string label;
  };
  // Small text under a process line at a time: a request queue's order, a parameter.
  struct Note {
    std::size_t process = 0;
    double time = 0;
    std::string text;
  };

  std::vector<Event> events;
  std::vector<Message> messages;
  std::vector<Interval> intervals;
  std::vector<Note> notes;
  std::string time_unit = "ms";
  double width = 960; // pixels; the height follows from the number of processes
};

// A complete SVG 1.1 document (UTF-8, root <svg> in the SVG namespace) drawing `d`. Text is
// escaped, so any label may be given: &, <, >, " and ' become entities, and bytes that are not
// UTF-8 or characters XML does not allow (control characters) become U+FFFD. Throws
// std::invalid_argument, naming the element and what is wrong with it, for a process index
// out of range, a time that is not a finite number, an interval that ends before it begins, or
// a width under 200 pixels (or not a number).
[[nodiscard]] std::string to_svg(const Diagram& d);

// `text` made safe for XML character data and attribute values, as to_svg writes it.
[[nodiscard]] std::string xml_escape(std::string_view text);

// The characters of UTF-8 `text` (not its bytes), for the width it takes on a picture.
[[nodiscard]] std::size_t characters(std::string_view text);

} // namespace lamina::viz
