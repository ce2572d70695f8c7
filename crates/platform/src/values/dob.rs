use jiff::civil::Date;

/// A date of birth: `YYYY-MM-DD`, before `today` and within the last 150 years.
pub fn parse_dob(raw: &str, today: Date) -> Result<Date, String> {
    let dob: Date = raw
        .trim()
        .parse()
        .map_err(|_| "must be a date in the form YYYY-MM-DD".to_owned())?;
    if dob >= today {
        return Err("must be in the past".to_owned());
    }
    if dob.year() < today.year() - 150 {
        return Err("must be within the last 150 years".to_owned());
    }
    Ok(dob)
}

#[cfg(test)]
mod tests {
    use super::parse_dob;
    use jiff::civil::date;

    #[test]
    fn a_dob_is_a_past_date_within_150_years() {
        let today = date(2026, 11, 21);
        assert!(parse_dob("2026-11-21", today).is_err());
        assert!(parse_dob("21/11/1990", today).is_err());
        assert!(parse_dob("1850-01-01", today).is_err());
        assert_eq!(parse_dob(" 2026-11-20 ", today), Ok(date(2026, 11, 20)));
    }
}
