// Parse each .ics file named on the command line with Mozilla's ical.js and print what it saw as
// JSON (one object per file, in order). Exit 1 when any file fails to parse.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const results = [];
let failed = false;
for (const path of process.argv.slice(2)) {
  try {
    const component = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
    const vevent = component.getFirstSubcomponent("vevent");
    const event = new ICAL.Event(vevent);
    const organizer = vevent.getFirstProperty("organizer");
    results.push({
      path,
      method: component.getFirstPropertyValue("method"),
      version: component.getFirstPropertyValue("version"),
      uid: event.uid,
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
      summary: event.summary,
      location: event.location,
      url: vevent.getFirstPropertyValue("url"),
      start: event.startDate.toString(),
      startZone: event.startDate.zone ? event.startDate.zone.tzid : null,
      startUnix: event.startDate.toUnixTime(),
      end: event.endDate.toString(),
      organizer: organizer ? organizer.getFirstValue() : null,
      organizerCN: organizer ? organizer.getParameter("cn") : null,
      attendees: vevent.getAllProperties("attendee").map((p) => ({
        value: p.getFirstValue(),
        cn: p.getParameter("cn"),
        role: p.getParameter("role"),
        partstat: p.getParameter("partstat"),
        rsvp: p.getParameter("rsvp"),
      })),
    });
  } catch (error) {
    failed = true;
    results.push({ path, error: String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
process.exit(failed ? 1 : 0);
