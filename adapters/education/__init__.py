"""Education (教育): enrolment files in CSV, left in a drop folder by the exchange platform."""
