package demo

// The texts below are written the way customers write: with typos of tone
// rather than of spelling, slang, emoji, capitals when angry. Placeholders
// are explained on Text. All people, flights and bookings are fictional.

var dutch = []Text{
	post("nl", Question, "@HeronAir Hoeveel handbagage mag ik meenemen op {flight} naar {city}? Ik zie door de bomen het bos niet meer op jullie site 🙈"),
	post("nl", Question, "@HeronAir Is {flight} vandaag op tijd? App zegt niks en op het bord staat 'zie balie' #vaag"),
	post("nl", Question, "Ey @HeronAir fakka! Mag m'n speaker mee in de handbagage of gaan ze moeilijk doen bij security? Vlieg {flight} naar {city} 🔊"),
	post("nl", Question, "@HeronAir Kan ik nog een raamplaats krijgen op {flight}? Bij online inchecken zie ik alleen middenstoelen"),
	post("nl", Question, "@HeronAir vraagje: kan ik mijn stoel nog wijzigen als ik al heb ingecheckt voor {flight}?"),
	post("nl", Question, "@HeronAir Vertrekt {flight} morgen vanaf de D- of de E-pier? Ik reis met iemand in een rolstoel en wil het goed plannen"),
	post("nl", Complaint, "@HeronAir {minutes} minuten vertraging op {flight} en niemand aan de gate die iets zegt. Kom op, communicatie is toch niet zo moeilijk?"),
	post("nl", Complaint, "@HeronAir Koffer kwijt na {flight} uit {city}. Drie kwartier in de rij bij de bagagebalie. Top begin van de vakantie 👎"),
	post("nl", Complaint, "Lekker dan @HeronAir, de wifi werkt weer eens niet op {flight}. Betaald voor een pakket en nu gewoon offline."),
	post("nl", Complaint, "@HeronAir Vegetarische maaltijd besteld voor {flight}, kreeg kip. Crew was superaardig maar toch jammer #heronair"),
	post("nl", Compliment, "Wat een service van @HeronAir! Mijn overstap was krap maar er stond iemand bij de gate met een bordje met mijn naam 😍 #{flight}"),
	post("nl", Compliment, "Shoutout naar {crew} van de cabine op {flight}, die mijn zoontje de hele vlucht heeft beziggehouden met tekenen ✏️ Toppers @HeronAir"),
	post("nl", Compliment, "Eerste keer met @HeronAir gevlogen en ik ben fan. Ruime stoel, lekkere stroopwafel en een piloot met humor 😄 #{flight}"),
	post("nl", Angry, "@HeronAir Stelletje prutsers. Derde keer dit jaar dat {flight} niet gaat. Nooit meer Heron, echt NOOIT meer."),
	post("nl", Angry, "@HeronAir Jullie klantenservice is een grap. {hours} uur in de wacht gestaan en toen gewoon opgehangen. Schaam je."),
	post("nl", Angry, "@HeronAir wat een kutbedrijf zijn jullie zeg. Koffer kapot, niemand neemt op, en dan nog een enquête sturen ook 🤬"),
	post("nl", Thanks, "@HeronAir Dank jullie wel voor het snelle antwoord gisteren, de koffer is vandaag thuisbezorgd 🙏"),
	post("nl", Thanks, "Bedankt @HeronAir en vooral {crew} aan de transferbalie, dankzij jullie toch nog mijn aansluiting naar {city} gehaald!"),

	dm("nl", Question, "Hoi! Ik heb boekingscode {code} en wil graag extra beenruimte op {flight}. Kan dat nog en wat kost het?"),
	dm("nl", Question, "Goedemiddag, mijn dochter (15) vliegt alleen naar {city}. Moet ik begeleiding aanvragen of mag ze zelfstandig reizen?"),
	dm("nl", Question, "Hoi, mag mijn hond (8 kg) mee in de cabine naar {city}? Hij heeft een tas die aan de maten voldoet"),
	dm("nl", Question, "Is er iets te regelen voor glutenvrij eten op {flight}? Boeking {code}"),
	dm("nl", Question, "yo kan ik nog ff mn naam aanpassen op het ticket? typfout gemaakt bij boeken 😅 code {code}"),
	dm("nl", Complaint, "Hallo, mijn vlucht {flight} had {minutes} minuten vertraging en daardoor heb ik mijn trein gemist. Hebben jullie daar een regeling voor?"),
	dm("nl", Complaint, "Drie weken geleden heb ik een klacht ingediend over mijn beschadigde koffer en ik heb nog steeds niks gehoord. Referentie {code}."),
	dm("nl", Angry, "Dit is echt belachelijk. Twee keer gebeld, twee keer een ander verhaal. Ik wil NU weten of {flight} morgen gaat of niet."),
	dm("nl", Compliment, "Even een berichtje om te zeggen dat {crew} aan boord van {flight} geweldig was met mijn vader, die voor het eerst vloog. Dank!"),
	dm("nl", Thanks, "Super bedankt voor het regelen van de rolstoel voor mijn moeder, alles ging perfect 💐"),

	mail("nl", Complaint, "Klacht over vertraging {flight}",
		"Geachte heer/mevrouw,\n\nOp mijn vlucht {flight} naar {city} hadden wij {minutes} minuten vertraging. Aan de gate werd ons niets verteld en aan boord ook niet. Ik vind dat erg teleurstellend; ik vlieg al jaren met Heron.\n\nKunt u mij uitleggen wat er gebeurde?\n\nMet vriendelijke groet,\n{name}"),
	mail("nl", Question, "Vraag over annuleren boeking {code}",
		"Beste Heron,\n\nIk heb voor mei een vlucht naar {city} geboekt (boekingscode {code}), maar door een operatie kan ik waarschijnlijk niet reizen. Wat zijn de mogelijkheden om om te boeken of te annuleren?\n\nAlvast bedankt,\n{name}"),
	mail("nl", Question, "Factuur nodig voor boeking {code}",
		"Hallo,\n\nVoor mijn werkgever heb ik een factuur op naam van het bedrijf nodig voor boeking {code}. Kunnen jullie die sturen?\n\nGroet,\n{name}"),
	mail("nl", Compliment, "Compliment voor de bemanning van {flight}",
		"Beste Heron Airlines,\n\nIk wil graag de bemanning van {flight} bedanken, en in het bijzonder {crew}. Mijn man werd onwel tijdens de vlucht en er werd ontzettend rustig en lief voor ons gezorgd.\n\nHartelijke groet,\n{name}"),
	mail("nl", Angry, "Derde keer!!!",
		"Dit is de DERDE keer dat ik mail over mijn terugbetaling voor {flight}. Niemand reageert. Als ik binnen een week niets hoor, stap ik naar de geschillencommissie en naar de krant.\n\n{name}"),
	mail("nl", Thanks, "Bedankt!",
		"Hoi Heron,\n\nDe terugbetaling is vandaag binnengekomen. Dank voor de snelle en vriendelijke afhandeling!\n\nGroetjes,\n{name}"),

	followUp(dm("nl", Question, "Nog nieuws? Ik zit nog steeds te wachten 🙄")),
	followUp(dm("nl", Question, "Mijn boekingscode is {code}")),
	followUp(dm("nl", Thanks, "Top, dank je wel!")),
	followUp(dm("nl", Complaint, "Dit is niet echt een antwoord op mijn vraag...")),
	followUp(dm("nl", Thanks, "Helemaal goed zo, fijne dag nog! 😊")),
}

var english = []Text{
	post("en", Question, "@HeronAir What's the hand luggage allowance on {flight} to {city}? Your website says 12 kg but my booking says 8 kg 🤔"),
	post("en", Question, "@HeronAir Is there wifi on {flight}? Need to work on the way to {city}"),
	post("en", Question, "@HeronAir Can I bring my guitar as cabin baggage on {flight}?"),
	post("en", Question, "yo @HeronAir lowkey need a window seat on {flight}, can u sort me out? 🙏"),
	post("en", Question, "@HeronAir Does {flight} tomorrow leave from the D or E pier? Travelling with a wheelchair user so want to plan ahead"),
	post("en", Complaint, "@HeronAir {minutes} min delay on {flight} and zero updates at the gate. Not great."),
	post("en", Complaint, "@HeronAir My bag went to {city}. I did not. Again. #lostluggage"),
	post("en", Complaint, "@HeronAir Vegetarian meal ordered for {flight}, got chicken. Crew were lovely about it but still, a bit disappointing"),
	post("en", Complaint, "@HeronAir Paid for extra legroom on {flight} and ended up in row 31 next to the toilets. Not what I paid for."),
	post("en", Compliment, "Shout out to {crew} on {flight} who made my nervous-flyer mum feel completely at ease. That's what service looks like @HeronAir 👏"),
	post("en", Compliment, "@HeronAir Smoothest transfer I've ever had at Schiphol. 45 mins and my bag made it too. Impressed."),
	post("en", Compliment, "Landed in {city} 20 mins early, crew were ace, even the coffee was decent. Who are you and what have you done with airlines @HeronAir? 😂"),
	post("en", Angry, "@HeronAir You absolute clowns. Cancelled {flight} with a text at 3am and no rebooking. Worst airline I've ever flown."),
	post("en", Angry, "Dear @HeronAir, 2 hours on hold, disconnected twice. Are you even trying? #fail"),
	post("en", Angry, "@HeronAir FIX YOUR APP. Logged me out mid check-in for the 4th time and now it says booking {code} doesn't exist. Useless."),
	post("en", Thanks, "@HeronAir Thanks for sorting my seat so fast, you guys are quick 🙌"),
	post("en", Thanks, "Massive thanks @HeronAir for finding the laptop I left on {flight}. Didn't think I'd see it again!"),

	dm("en", Question, "Hi, I need to add my middle name to booking {code}, it doesn't match my passport. How do I fix this?"),
	dm("en", Question, "Hello! Can I take my e-bike battery on {flight}? It's 400 Wh."),
	dm("en", Question, "Hi, travelling with a 4 month old on {flight}. Can I reserve a bassinet?"),
	dm("en", Question, "Is it possible to upgrade to business on {flight} with miles? Booking ref {code}"),
	dm("en", Question, "hey quick one - is check-in open yet for {flight}? app keeps spinning"),
	dm("en", Complaint, "My flight {flight} was delayed {minutes} minutes and I missed my connection to {city}. Nobody at the transfer desk could help. What now?"),
	dm("en", Complaint, "The seat I paid extra for on {flight} was given to someone else. Booking {code}. I'd like a refund for it."),
	dm("en", Angry, "This is ridiculous. Third time I'm explaining this. My refund for {flight} was promised 6 weeks ago. WHERE IS MY MONEY??"),
	dm("en", Compliment, "Your colleague {crew} at the desk in {city} went above and beyond today. Please make sure they know!"),
	dm("en", Thanks, "Just wanted to say thanks for the help earlier, everything is sorted 😊"),

	mail("en", Complaint, "Damaged suitcase – flight {flight}",
		"Dear Heron Airlines,\n\nMy suitcase came off the belt after {flight} from {city} with a broken wheel and a cracked shell. I reported it at the desk (reference {code}) but have heard nothing since.\n\nPlease let me know how you will resolve this.\n\nKind regards,\n{name}"),
	mail("en", Question, "Group booking for 14 people to {city}",
		"Hello,\n\nWe are a choir of 14 people travelling to {city} in October. Do you offer group fares, and can we keep our seats together?\n\nMany thanks,\n{name}"),
	mail("en", Question, "Invoice for booking {code}",
		"Hi,\n\nCould you send me a VAT invoice for booking {code}? My company needs it for expenses.\n\nThanks,\n{name}"),
	mail("en", Compliment, "Thank you to the crew of {flight}",
		"Hello Heron,\n\nI flew {flight} to {city} last week with my two young children, on my own. {crew} and the rest of the crew helped us at every step, warmed bottles and even kept my toddler entertained. Please pass on my heartfelt thanks.\n\nBest wishes,\n{name}"),
	mail("en", Angry, "FORMAL COMPLAINT – {flight}",
		"To whom it may concern,\n\nI have now waited {hours} hours for a response to my complaint about {flight}. This is unacceptable. If I do not hear from you within 48 hours I will take this to the press and to the aviation regulator.\n\n{name}"),
	mail("en", Thanks, "Re: your refund",
		"Hi,\n\nReceived the refund today. Thank you for handling it so quickly and kindly, it really restored my faith in you.\n\nCheers,\n{name}"),

	followUp(dm("en", Question, "Any update on this? Still waiting.")),
	followUp(dm("en", Question, "Booking code is {code}")),
	followUp(dm("en", Question, "Sent you a DM 👍")),
	followUp(dm("en", Thanks, "Perfect, thank you so much!")),
	followUp(dm("en", Complaint, "That doesn't really answer my question tbh")),
}

var german = []Text{
	post("de", Question, "@HeronAir Wie viel Handgepäck darf ich auf {flight} nach {city} mitnehmen? Die Infos auf der Website widersprechen sich."),
	post("de", Question, "@HeronAir Gibt es auf {flight} WLAN? Muss unterwegs arbeiten."),
	post("de", Complaint, "@HeronAir {minutes} Minuten Verspätung auf {flight} und keine einzige Durchsage. Ernsthaft?"),
	post("de", Complaint, "@HeronAir Koffer nach {flight} beschädigt angekommen, Griff abgerissen. Wo kann ich das melden?"),
	post("de", Compliment, "Großes Lob an die Crew von {flight} @HeronAir! Super freundlich und das Essen war richtig gut 👍"),
	post("de", Angry, "@HeronAir Was für ein Saftladen. Flug gestrichen, keine Info, Hotline dauerhaft besetzt. Nie wieder!"),
	post("de", Thanks, "Danke @HeronAir für die schnelle Hilfe mit meinem Koffer! 🙏"),

	dm("de", Question, "Hallo, ich möchte für Buchung {code} einen Sitzplatz mit mehr Beinfreiheit auf {flight}. Geht das noch?"),
	dm("de", Question, "Darf mein Hund (7 kg) in der Kabine mit nach {city}?"),
	dm("de", Complaint, "Mein Anschlussflug nach {city} ist wegen der Verspätung von {flight} weg und am Transferschalter ist niemand. Was soll ich tun?"),
	dm("de", Angry, "Ich habe jetzt dreimal geschrieben und keine Antwort bekommen. Das ist eine Frechheit. Wo bleibt meine Erstattung für {flight}?"),
	dm("de", Compliment, "Wollte nur sagen: {crew} am Gate in {city} war heute fantastisch. Vielen Dank!"),
	dm("de", Thanks, "Alles hat geklappt, vielen Dank für die Umbuchung!"),

	mail("de", Complaint, "Beschwerde: Verspätung {flight}",
		"Sehr geehrte Damen und Herren,\n\nunser Flug {flight} nach {city} hatte {minutes} Minuten Verspätung, ohne dass wir informiert wurden. Dadurch haben wir einen bezahlten Transfer verpasst.\n\nIch bitte um eine Stellungnahme.\n\nMit freundlichen Grüßen\n{name}"),
	mail("de", Question, "Rechnung für Buchung {code}",
		"Guten Tag,\n\nkönnten Sie mir bitte eine Rechnung für die Buchung {code} auf meine Firma ausstellen?\n\nVielen Dank und viele Grüße\n{name}"),
	mail("de", Compliment, "Dank an die Crew von {flight}",
		"Liebes Heron-Team,\n\nich möchte mich herzlich bei der Crew von {flight} bedanken. {crew} hat sich rührend um meine Mutter gekümmert, die zum ersten Mal allein geflogen ist.\n\nHerzliche Grüße\n{name}"),

	followUp(dm("de", Question, "Gibt es schon Neuigkeiten?")),
	followUp(dm("de", Question, "Mein Buchungscode ist {code}")),
	followUp(dm("de", Thanks, "Super, vielen Dank!")),
	followUp(dm("de", Complaint, "Das beantwortet meine Frage leider nicht.")),
}

var french = []Text{
	post("fr", Question, "@HeronAir Quelle est la franchise bagage cabine sur le vol {flight} pour {city} ?"),
	post("fr", Question, "@HeronAir Est-ce qu'il y a du wifi à bord du {flight} ?"),
	post("fr", Complaint, "@HeronAir {minutes} minutes de retard sur le {flight} et aucune annonce. Franchement pas sérieux."),
	post("fr", Complaint, "@HeronAir Ma valise n'est jamais arrivée à {city}. Trois jours que j'attends. #bagageperdu"),
	post("fr", Compliment, "Merci à l'équipage du {flight} @HeronAir, adorables du début à la fin ✈️"),
	post("fr", Angry, "@HeronAir Vol annulé, aucune info, service client injoignable. C'est n'importe quoi. Plus jamais !"),
	post("fr", Thanks, "Merci @HeronAir pour la réponse rapide, tout est réglé 👍"),

	dm("fr", Question, "Bonjour, je voudrais ajouter un bagage en soute à ma réservation {code}. Comment faire ?"),
	dm("fr", Question, "Mon fils de 12 ans voyage seul sur le {flight}, faut-il réserver un accompagnement ?"),
	dm("fr", Complaint, "Mon siège payé sur le {flight} a été donné à quelqu'un d'autre. Réservation {code}. Je souhaite être remboursé."),
	dm("fr", Angry, "C'est la troisième fois que j'écris. Toujours aucune réponse pour mon remboursement. C'est inadmissible."),
	dm("fr", Compliment, "Je tenais à vous dire que {crew} au comptoir de {city} a été formidable avec nous. Merci !"),
	dm("fr", Thanks, "Merci beaucoup pour votre aide, bonne journée !"),

	mail("fr", Complaint, "Réclamation – retard du vol {flight}",
		"Madame, Monsieur,\n\nNotre vol {flight} pour {city} a eu {minutes} minutes de retard sans aucune explication. Nous avons manqué notre train de correspondance.\n\nJe vous remercie de bien vouloir me répondre.\n\nCordialement,\n{name}"),
	mail("fr", Question, "Demande de facture – réservation {code}",
		"Bonjour,\n\nPourriez-vous m'envoyer une facture au nom de ma société pour la réservation {code} ?\n\nMerci d'avance,\n{name}"),

	followUp(dm("fr", Question, "Des nouvelles ?")),
	followUp(dm("fr", Question, "Mon code de réservation est {code}")),
	followUp(dm("fr", Thanks, "Parfait, merci beaucoup !")),
}

var spanish = []Text{
	post("es", Question, "@HeronAir ¿Cuánto equipaje de mano puedo llevar en el {flight} a {city}?"),
	post("es", Question, "@HeronAir ¿Hay wifi en el {flight}? Tengo que trabajar durante el vuelo"),
	post("es", Complaint, "@HeronAir {minutes} minutos de retraso en el {flight} y nadie dice nada. Así no."),
	post("es", Complaint, "@HeronAir Mi maleta llegó rota a {city}. ¿Dónde hago la reclamación?"),
	post("es", Compliment, "¡Gracias a la tripulación del {flight} @HeronAir! Un trato de diez 👏"),
	post("es", Angry, "@HeronAir Sois un desastre. Vuelo cancelado, sin información y nadie coge el teléfono. ¡Nunca más!"),
	post("es", Thanks, "¡Mil gracias @HeronAir por encontrar mi maleta! 🙌"),

	dm("es", Question, "Hola, ¿puedo cambiar la fecha de mi vuelo {flight}? Reserva {code}"),
	dm("es", Question, "¿Puedo llevar a mi perro en cabina a {city}? Pesa 6 kg"),
	dm("es", Complaint, "Perdí mi conexión a {city} por el retraso del {flight} y en el mostrador no me dan solución. ¿Qué hago?"),
	dm("es", Angry, "Es la tercera vez que escribo y nadie me responde. ¿Dónde está mi reembolso?"),
	dm("es", Compliment, "Solo quería deciros que {crew}, en la puerta de embarque, fue increíble con mi abuela. ¡Gracias!"),
	dm("es", Thanks, "Todo solucionado, ¡muchas gracias por la ayuda!"),

	mail("es", Complaint, "Reclamación por retraso – vuelo {flight}",
		"Estimados señores:\n\nNuestro vuelo {flight} a {city} salió con {minutes} minutos de retraso y nadie nos informó de nada. Perdimos el traslado que teníamos contratado.\n\nQuedo a la espera de su respuesta.\n\nUn saludo,\n{name}"),
	mail("es", Question, "Factura de la reserva {code}",
		"Hola:\n\n¿Me podéis enviar la factura de la reserva {code} a nombre de mi empresa?\n\nGracias,\n{name}"),

	followUp(dm("es", Question, "¿Alguna novedad?")),
	followUp(dm("es", Question, "Mi código de reserva es {code}")),
	followUp(dm("es", Thanks, "¡Perfecto, gracias!")),
}

var italian = []Text{
	post("it", Question, "@HeronAir Quanto bagaglio a mano posso portare sul {flight} per {city}?"),
	post("it", Complaint, "@HeronAir {minutes} minuti di ritardo sul {flight} e nessuna comunicazione. Non ci siamo."),
	post("it", Compliment, "Complimenti all'equipaggio del {flight} @HeronAir, gentilissimi! 👏"),
	post("it", Angry, "@HeronAir Volo cancellato senza preavviso e call center muto. Vergognatevi."),
	post("it", Thanks, "Grazie mille @HeronAir per l'aiuto veloce 🙏"),

	dm("it", Question, "Buongiorno, posso aggiungere un bagaglio da stiva alla prenotazione {code}?"),
	dm("it", Complaint, "La mia valigia non è arrivata a {city} dopo il volo {flight}. Cosa devo fare?"),
	dm("it", Compliment, "Volevo ringraziare {crew} per la pazienza con mio padre durante il volo {flight}."),

	mail("it", Complaint, "Reclamo ritardo volo {flight}",
		"Gentili signori,\n\nil nostro volo {flight} per {city} è partito con {minutes} minuti di ritardo e nessuno ci ha spiegato il motivo. Abbiamo perso la coincidenza.\n\nAttendo un vostro riscontro.\n\nCordiali saluti,\n{name}"),
	mail("it", Question, "Richiesta fattura prenotazione {code}",
		"Buongiorno,\n\npotreste inviarmi la fattura intestata alla mia azienda per la prenotazione {code}?\n\nGrazie,\n{name}"),

	followUp(dm("it", Question, "Novità?")),
	followUp(dm("it", Question, "Il codice di prenotazione è {code}")),
	followUp(dm("it", Thanks, "Perfetto, grazie!")),
}

var portuguese = []Text{
	post("pt", Question, "@HeronAir Quanta bagagem de mão posso levar no voo {flight} para {city}?"),
	post("pt", Complaint, "@HeronAir {minutes} minutos de atraso no {flight} e ninguém diz nada. Assim não dá."),
	post("pt", Compliment, "Parabéns à tripulação do {flight} @HeronAir, simpatiquíssimos! 👏"),
	post("pt", Angry, "@HeronAir Voo cancelado, zero informação e ninguém atende o telefone. Que vergonha!"),
	post("pt", Thanks, "Obrigada @HeronAir pela ajuda rápida! 🙏"),

	dm("pt", Question, "Olá, posso levar o meu gato na cabine até {city}? Reserva {code}"),
	dm("pt", Complaint, "A minha mala não chegou a {city} depois do voo {flight}. O que faço?"),
	dm("pt", Thanks, "Tudo resolvido, muito obrigado pela ajuda!"),

	mail("pt", Complaint, "Reclamação – atraso do voo {flight}",
		"Exmos. Senhores,\n\nO nosso voo {flight} para {city} teve {minutes} minutos de atraso e ninguém nos informou. Perdemos a ligação para o hotel.\n\nAguardo a vossa resposta.\n\nCumprimentos,\n{name}"),
	mail("pt", Question, "Pedido de fatura – reserva {code}",
		"Bom dia,\n\nPodem enviar-me a fatura da reserva {code} em nome da minha empresa?\n\nObrigado,\n{name}"),

	followUp(dm("pt", Question, "Alguma novidade?")),
	followUp(dm("pt", Question, "O meu código de reserva é {code}")),
	followUp(dm("pt", Thanks, "Perfeito, obrigado!")),
}

// others are the languages webcare hears less often but must not ignore.
var others = []Text{
	post("ja", Question, "@HeronAir {flight}便の機内持ち込み手荷物は何キロまでですか？"),
	post("ja", Compliment, "@HeronAir {flight}便の客室乗務員の皆さん、とても親切でした。ありがとうございました！✈️"),
	dm("ja", Complaint, "{flight}便が{minutes}分遅れて、乗り継ぎ便に間に合いませんでした。どうすればいいですか？"),
	dm("ja", Question, "予約番号{code}です。ベジタリアンの機内食をリクエストできますか？"),
	followUp(dm("ja", Thanks, "ありがとうございます！助かりました。")),

	post("zh", Question, "@HeronAir 请问{flight}航班可以带多少公斤的手提行李？"),
	post("zh", Thanks, "谢谢@HeronAir 的帮助，问题已经解决了！"),
	dm("zh", Complaint, "我的行李没有到，航班是{flight}。请问怎么办？"),

	post("ko", Question, "@HeronAir {flight}편 기내 와이파이 되나요?"),
	post("ko", Compliment, "@HeronAir {flight}편 승무원분들 정말 친절하셨어요. 감사합니다!"),
	dm("ko", Complaint, "{flight}편이 {minutes}분 지연돼서 환승편을 놓쳤어요. 어떻게 해야 하나요?"),

	post("tr", Question, "@HeronAir {flight} uçuşunda kabin bagajı hakkım ne kadar?"),
	post("tr", Angry, "@HeronAir Uçuşum iptal edildi ve kimse bilgi vermiyor. Rezalet!"),
	dm("tr", Complaint, "Bavulum gelmedi, uçuşum {flight} idi. Ne yapmam gerekiyor?"),

	post("ar", Question, "@HeronAir كم وزن حقيبة اليد المسموح به على الرحلة {flight}؟"),
	dm("ar", Complaint, "تأخرت رحلتي {flight} لمدة {minutes} دقيقة وفاتتني رحلة الربط. ماذا أفعل؟"),
	dm("ar", Thanks, "شكراً جزيلاً على مساعدتكم!"),

	post("pl", Question, "@HeronAir Ile bagażu podręcznego mogę zabrać na lot {flight}?"),
	post("pl", Compliment, "Dziękuję załodze lotu {flight} @HeronAir, super obsługa! 👏"),
	dm("pl", Complaint, "Mój lot {flight} był opóźniony i uciekła mi przesiadka. Co teraz?"),
	mail("pl", Question, "Faktura – rezerwacja {code}",
		"Dzień dobry,\n\nproszę o wystawienie faktury na firmę dla rezerwacji {code}.\n\nZ poważaniem,\n{name}"),
}

// crisisTexts flood in when an ash cloud closes the airspace: the same few
// questions, thousands of times, from people who are stuck and scared.
var crisisTexts = []Text{
	crisis(post("nl", Question, "@HeronAir Gaan alle vluchten vandaag niet door?? Ik zie alleen maar 'geannuleerd' op het bord #aswolk")),
	crisis(post("nl", Question, "@HeronAir Ik zit vast in {city}, {flight} naar huis is geannuleerd. Wat nu? Hotel? Trein? Iemand?")),
	crisis(post("nl", Question, "@HeronAir Hoe lang gaat dit duren met die aswolk? Ik moet maandag weer werken…")),
	crisis(post("nl", Question, "@HeronAir Krijg ik mijn geld terug als ik zelf met de trein terugga uit {city}? #aswolk")),
	crisis(post("nl", Angry, "@HeronAir Al {hours} uur in de wacht bij jullie telefoonlijn en nu ligt de website er ook nog uit. Dit is een ramp!!")),
	crisis(dm("nl", Question, "Hoi, mijn vlucht {flight} van {city} naar Amsterdam is geannuleerd vanwege de aswolk. Kunnen jullie mij omboeken? Code {code}")),
	crisis(dm("nl", Complaint, "We zitten met twee kleine kinderen vast in {city} en het hotel is vol. Wie betaalt dit? Help alsjeblieft")),
	crisis(mail("nl", Question, "Geannuleerde vlucht {flight} – omboeken",
		"Beste Heron,\n\nOnze vlucht {flight} van {city} naar Amsterdam is geannuleerd vanwege de aswolk. Wij zijn met z'n vieren (boekingscode {code}). Wat zijn onze opties, en worden hotelkosten vergoed?\n\nMet vriendelijke groet,\n{name}")),

	crisis(post("en", Question, "@HeronAir Are ALL flights cancelled today?? The board at Schiphol is completely red #ashcloud")),
	crisis(post("en", Question, "@HeronAir Stuck in {city}, {flight} home cancelled. Any idea when you'll fly again?")),
	crisis(post("en", Question, "@HeronAir Is it true the airspace over the North Sea is closed until tomorrow? Nobody at the desk knows anything")),
	crisis(post("en", Question, "@HeronAir Will you cover the hotel if we're stuck in {city} for another night? #ashcloud")),
	crisis(post("en", Angry, "@HeronAir {hours} hours on hold and your website is down. Absolutely shambolic crisis handling #ashcloud")),
	crisis(dm("en", Question, "Hi, my flight {flight} from {city} got cancelled because of the ash cloud. Can you rebook me please? Booking {code}")),
	crisis(dm("en", Complaint, "Stuck in {city} with my elderly mother. Her medication is in our checked bag, which we can't get back. Please help")),
	crisis(mail("en", Question, "Cancelled flight {flight} – what are my options?",
		"Hello,\n\nMy flight {flight} from {city} to Amsterdam was cancelled because of the volcanic ash. Booking {code}. What are my options for getting home, and who pays for the extra nights?\n\nThanks,\n{name}")),

	crisis(post("de", Question, "@HeronAir Fallen heute wirklich alle Flüge aus? Ich stecke in {city} fest #Aschewolke")),
	crisis(post("de", Question, "@HeronAir Zahlt ihr das Hotel, wenn wir noch eine Nacht in {city} bleiben müssen?")),
	crisis(post("de", Angry, "@HeronAir Hotline seit {hours} Stunden besetzt, Website down. Das ist ein Witz!")),
	crisis(dm("de", Question, "Mein Flug {flight} ab {city} wurde wegen der Aschewolke gestrichen. Können Sie mich umbuchen? Buchung {code}")),

	crisis(post("fr", Question, "@HeronAir Tous les vols sont annulés aujourd'hui ? Je suis bloqué à {city} #nuagedecendres")),
	crisis(post("fr", Question, "@HeronAir Qui paie l'hôtel si on reste coincés une nuit de plus ?")),
	crisis(dm("fr", Question, "Mon vol {flight} au départ de {city} a été annulé à cause du nuage de cendres. Pouvez-vous me replacer sur un autre vol ? Réservation {code}")),

	crisis(post("es", Question, "@HeronAir ¿Están cancelados todos los vuelos hoy? Estoy atrapado en {city} #nubedeceniza")),
	crisis(post("es", Question, "@HeronAir ¿Quién paga el hotel si nos quedamos otra noche?")),
	crisis(dm("es", Question, "Mi vuelo {flight} desde {city} ha sido cancelado por la nube de ceniza. ¿Me podéis cambiar a otro vuelo? Reserva {code}")),

	crisis(post("it", Question, "@HeronAir Sono bloccato a {city}, il {flight} per Amsterdam è cancellato. E adesso? #nubedicenere")),
	crisis(post("it", Angry, "@HeronAir Tutti i voli cancellati e nessuno ci dice niente. Vergogna!")),
	crisis(dm("it", Question, "Il mio volo {flight} è stato cancellato per la nube di cenere. Potete riprenotarmi? Prenotazione {code}")),

	crisis(post("pt", Question, "@HeronAir Todos os voos cancelados hoje? Estou preso em {city} #nuvemdecinzas")),
	crisis(dm("pt", Question, "O meu voo {flight} foi cancelado por causa da nuvem de cinzas. Podem remarcar-me? Reserva {code}")),

	crisis(dm("ja", Question, "火山灰の影響で{flight}便が欠航になりました。振替便はありますか？予約番号は{code}です。")),
	crisis(post("zh", Question, "@HeronAir 今天所有航班都取消了吗？我被困在机场了。")),
	crisis(post("ko", Question, "@HeronAir 화산재 때문에 오늘 모든 항공편이 취소됐나요?")),
	crisis(post("tr", Question, "@HeronAir Bugün tüm uçuşlar iptal mi? Havalimanında mahsur kaldık.")),
	crisis(post("ar", Question, "@HeronAir هل أُلغيت جميع الرحلات اليوم؟ أنا عالق في المطار.")),
	crisis(post("pl", Question, "@HeronAir Czy wszystkie loty są dziś odwołane? Utknęliśmy na lotnisku.")),
}
