// Reads an iCalendar file on stdin with Mozilla's ical.js (as Thunderbird does)
// and prints its events as JSON, with DTSTART/DTEND converted to UTC.
//
// Only the VTIMEZONEs embedded in the file are registered, so a local time is
// read through the VTIMEZONE we wrote, never through a built-in copy of the
// zone. A TZID without a VTIMEZONE is reported, not silently read as floating.
// Used by tests/icalcheck.py (parse_icaljs); install with `npm ci --prefix tests/js`.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

// A time as JSON: {date}, {utc} (seconds since the epoch) or {floating}.
function when(time, tzid, name, problems) {
  if (time === null) return null;
  if (time.isDate) return { date: time.toString() }; // YYYY-MM-DD
  if (tzid && (!time.zone || time.zone.tzid !== tzid)) {
    problems.push(`${name} has TZID=${tzid} but no VTIMEZONE defines it`);
    return { floating: time.toString() };
  }
  if (!tzid && time.zone !== ICAL.Timezone.utcTimezone) {
    return { floating: time.toString() }; // YYYY-MM-DDTHH:MM:SS
  }
  return { utc: time.toUnixTime() };
}

function property(vevent, name, problems) {
  const prop = vevent.getFirstProperty(name);
  if (!prop) return null;
  return when(prop.getFirstValue(), prop.getParameter("tzid"), name.toUpperCase(), problems);
}

const text = readFileSync(0, "utf8");
let parsed = ICAL.parse(text);
// ICAL.parse returns one component, or an array when there are several VCALENDARs.
if (typeof parsed[0] === "string") parsed = [parsed];

const events = [];
const problems = [];
for (const jcal of parsed) {
  const calendar = new ICAL.Component(jcal);
  ICAL.TimezoneService.reset();
  for (const vtimezone of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtimezone);
  }
  for (const vevent of calendar.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    const sequence = vevent.getFirstPropertyValue("sequence");
    let end = property(vevent, "dtend", problems);
    if (end === null && vevent.hasProperty("duration")) {
      // ical.js works out the end from DTSTART + DURATION, in DTSTART's zone.
      const tzid = vevent.getFirstProperty("dtstart").getParameter("tzid");
      end = when(event.endDate, tzid, "DTEND", problems);
    }
    events.push({
      uid: event.uid,
      summary: event.summary ?? null,
      start: property(vevent, "dtstart", problems),
      end,
      recurrence_id: property(vevent, "recurrence-id", problems),
      sequence: sequence === null ? null : Number(sequence),
      status: vevent.getFirstPropertyValue("status"),
    });
  }
}
process.stdout.write(JSON.stringify({ events, problems }));
