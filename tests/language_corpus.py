# ruff: noqa: E501  (the sentences are data; wrapping them would only hurt reading)
"""Hand-written news sentences in langdetect's 55 languages and generators built on them.

Used by the language-detection tests (parity, labels) and by
benchmarks/bench_language.py. Everything is generated from the sentences below with a
seeded `random.Random`, so the same call always gives the same texts and no network or
data file is needed.
"""

from __future__ import annotations

import random

# Four to six news-style sentences per language; the keys are langdetect's labels.
SENTENCES: dict[str, tuple[str, ...]] = {
    "af": (
        "Die regering het Dinsdag aangekondig dat die nuwe begroting meer geld aan skole en hospitale sal bestee.",
        "Boere in die Wes-Kaap sê die droogte het vanjaar groot skade aan die oes aangerig.",
        "Die polisie ondersoek 'n reeks inbrake in die middestad en vra die publiek om hulp.",
        "Volgens die weerburo sal dit die naweek koud en nat wees met sterk wind langs die kus.",
        "Die span het ná 'n spannende wedstryd met twee punte gewen en is nou bo-aan die punteleer.",
    ),
    "ar": (
        "أعلنت الحكومة يوم الثلاثاء عن خطة جديدة لدعم الشركات الصغيرة والمتوسطة في جميع أنحاء البلاد.",
        "قال وزير الخارجية إن المحادثات مع الجانب الآخر كانت بناءة وستستمر الأسبوع المقبل.",
        "ارتفعت أسعار النفط في الأسواق العالمية بعد قرار المنتجين خفض الإنتاج.",
        "شهدت العاصمة أمطارا غزيرة تسببت في إغلاق عدد من الطرق الرئيسية.",
        "فاز الفريق الوطني بالمباراة النهائية وسط احتفالات واسعة في الشوارع.",
    ),
    "bg": (
        "Правителството одобри нов закон за енергийната ефективност на сградите в страната.",
        "Министърът на финансите заяви, че бюджетният дефицит ще бъде намален през следващата година.",
        "Силни бури предизвикаха наводнения в няколко села в южната част на България.",
        "Националният отбор спечели приятелския мач с два гола през второто полувреме.",
        "Цените на хранителните стоки продължават да растат според последните данни на статистиката.",
    ),
    "bn": (
        "সরকার মঙ্গলবার দেশের সব স্কুলে নতুন পাঠ্যক্রম চালুর ঘোষণা দিয়েছে।",
        "প্রবল বৃষ্টির কারণে রাজধানীর বেশ কয়েকটি এলাকায় জলাবদ্ধতা দেখা দিয়েছে।",
        "অর্থমন্ত্রী বলেছেন যে আগামী বছর অর্থনৈতিক প্রবৃদ্ধি আরও বাড়বে।",
        "জাতীয় ক্রিকেট দল শেষ ম্যাচে দুর্দান্ত জয় পেয়েছে।",
        "শহরের হাসপাতালগুলোতে রোগীর সংখ্যা হঠাৎ করে বেড়ে গেছে।",
    ),
    "ca": (
        "El govern ha anunciat aquest dimarts un nou pla per millorar el transport públic a Barcelona.",
        "Els agricultors es queixen que la sequera ha reduït molt la collita d'enguany.",
        "La policia investiga una sèrie de robatoris als comerços del centre de la ciutat.",
        "L'equip va guanyar el partit per dos gols a un davant de més de vint mil espectadors.",
        "Segons el servei meteorològic, aquest cap de setmana farà fred i plourà a tot el país.",
    ),
    "cs": (
        "Vláda v úterý schválila nový zákon o podpoře obnovitelných zdrojů energie.",
        "Ministr financí uvedl, že schodek státního rozpočtu se příští rok výrazně sníží.",
        "Silné bouřky způsobily v několika obcích na Moravě rozsáhlé záplavy.",
        "Český tým vyhrál přátelské utkání dvěma góly ve druhém poločase.",
        "Ceny potravin podle posledních údajů statistického úřadu stále rostou.",
    ),
    "cy": (
        "Mae'r llywodraeth wedi cyhoeddi cynllun newydd i wella gwasanaethau iechyd yng nghefn gwlad.",
        "Dywedodd y gweinidog fod y gyllideb yn cynnwys mwy o arian ar gyfer ysgolion.",
        "Bydd y tywydd yn oer ac yn wlyb dros y penwythnos gyda gwyntoedd cryfion ar yr arfordir.",
        "Enillodd y tîm y gêm yn erbyn Lloegr mewn stadiwm llawn yng Nghaerdydd.",
        "Mae'r heddlu yn apelio am wybodaeth ar ôl i ddyn gael ei anafu yn y dref nos Sadwrn.",
    ),
    "da": (
        "Regeringen fremlagde tirsdag en ny plan for at styrke den grønne omstilling i Danmark.",
        "Ifølge Danmarks Statistik steg arbejdsløsheden en smule i løbet af sommeren.",
        "Politiet efterlyser vidner efter et røveri i en butik på Nørrebro i går aftes.",
        "Landsholdet vandt kampen med to mål efter en flot indsats i anden halvleg.",
        "Meteorologerne venter kraftig regn og blæst over hele landet i weekenden.",
    ),
    "de": (
        "Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Digitalisierung der Verwaltung beschlossen.",
        "Nach Angaben der Polizei wurden bei dem Unfall auf der Autobahn drei Menschen schwer verletzt.",
        "Die Inflation in Deutschland ist im vergangenen Monat überraschend deutlich gesunken.",
        "Der Verein gewann das Spiel gegen den Tabellenführer mit zwei zu eins.",
        "Wegen des Streiks fallen am Donnerstag zahlreiche Züge im Fern- und Regionalverkehr aus.",
        "Die Bürgermeisterin kündigte an, die Sanierung der Schulen schneller voranzutreiben.",
    ),
    "el": (
        "Η κυβέρνηση ανακοίνωσε την Τρίτη νέα μέτρα στήριξης για τις μικρές επιχειρήσεις.",
        "Ο υπουργός Οικονομικών δήλωσε ότι η ανάπτυξη θα επιταχυνθεί τον επόμενο χρόνο.",
        "Ισχυρές βροχοπτώσεις προκάλεσαν πλημμύρες σε πολλές περιοχές της Θεσσαλίας.",
        "Η εθνική ομάδα κέρδισε τον αγώνα με δύο γκολ στο δεύτερο ημίχρονο.",
        "Οι τιμές των τροφίμων συνεχίζουν να αυξάνονται σύμφωνα με τα τελευταία στοιχεία.",
    ),
    "en": (
        "The government announced on Tuesday a new plan to reduce energy prices for households.",
        "Police said three people were injured when a bus collided with a truck on the motorway.",
        "Shares in the technology company rose sharply after it reported record quarterly profits.",
        "The prime minister will travel to Brussels next week for talks on trade and security.",
        "Heavy rain is expected across the north of the country over the weekend, forecasters said.",
        "The team won the final by two goals after a dramatic second half in front of a full stadium.",
    ),
    "es": (
        "El Gobierno aprobó este martes un nuevo plan para reducir el precio de la electricidad.",
        "La policía detuvo a tres personas acusadas de robar en varias tiendas del centro de Madrid.",
        "Las lluvias torrenciales provocaron inundaciones en varias localidades de la costa.",
        "El equipo ganó el partido por dos goles a uno ante más de cincuenta mil aficionados.",
        "Según los últimos datos, el paro registró una ligera bajada durante el mes de septiembre.",
        "La ministra de Sanidad anunció que se contratarán más médicos para los hospitales rurales.",
    ),
    "et": (
        "Valitsus kiitis teisipäeval heaks uue plaani taastuvenergia arendamiseks Eestis.",
        "Rahandusminister ütles, et eelarve puudujääk väheneb järgmisel aastal märgatavalt.",
        "Tugev torm põhjustas mitmes maakonnas elektrikatkestusi ja puid kukkus teedele.",
        "Eesti koondis võitis sõprusmängu teisel poolajal löödud kahe väravaga.",
        "Statistikaameti andmetel jätkavad toiduainete hinnad tõusmist.",
    ),
    "fa": (
        "دولت روز سه‌شنبه برنامه جدیدی برای حمایت از کسب‌وکارهای کوچک اعلام کرد.",
        "وزیر امور خارجه گفت که گفتگوها با طرف مقابل سازنده بوده و هفته آینده ادامه خواهد یافت.",
        "قیمت نفت در بازارهای جهانی پس از تصمیم تولیدکنندگان برای کاهش تولید افزایش یافت.",
        "باران شدید در پایتخت باعث بسته شدن چند جاده اصلی شد.",
        "تیم ملی در دیدار نهایی پیروز شد و مردم در خیابان‌ها جشن گرفتند.",
    ),
    "fi": (
        "Hallitus julkisti tiistaina uuden suunnitelman energian hinnan alentamiseksi.",
        "Poliisin mukaan kolme ihmistä loukkaantui vakavasti moottoritiellä sattuneessa onnettomuudessa.",
        "Tilastokeskuksen mukaan työttömyys kasvoi hieman kesän aikana.",
        "Suomen joukkue voitti ottelun kahdella maalilla toisella jaksolla.",
        "Ilmatieteen laitos varoittaa voimakkaista tuulista rannikolla viikonloppuna.",
    ),
    "fr": (
        "Le gouvernement a présenté mardi un nouveau plan pour réduire les factures d'énergie des ménages.",
        "Selon la police, trois personnes ont été blessées dans un accident sur l'autoroute A7.",
        "Les syndicats appellent à une nouvelle journée de grève jeudi dans les transports publics.",
        "L'équipe s'est imposée deux buts à un devant plus de quarante mille spectateurs.",
        "Météo-France a placé plusieurs départements en vigilance orange pour des orages violents.",
        "Le président de la République se rendra la semaine prochaine à Bruxelles pour un sommet.",
    ),
    "gu": (
        "સરકારે મંગળવારે રાજ્યની તમામ શાળાઓ માટે નવી યોજનાની જાહેરાત કરી.",
        "ભારે વરસાદને કારણે શહેરના અનેક વિસ્તારોમાં પાણી ભરાઈ ગયા છે.",
        "નાણામંત્રીએ કહ્યું કે આવતા વર્ષે આર્થિક વિકાસ દર વધશે.",
        "ભારતીય ટીમે અંતિમ મેચમાં શાનદાર જીત મેળવી.",
        "ખેડૂતોએ પાકના યોગ્ય ભાવ માટે વિરોધ પ્રદર્શન કર્યું.",
    ),
    "he": (
        "הממשלה אישרה ביום שלישי תוכנית חדשה להורדת יוקר המחיה.",
        "לדברי המשטרה, שלושה בני אדם נפצעו בתאונת דרכים בכביש החוף.",
        "מחירי הדירות בתל אביב המשיכו לעלות גם ברבעון האחרון.",
        "הנבחרת ניצחה במשחק שני שערים לאחד מול קהל גדול.",
        "השירות המטאורולוגי צופה גשמים חזקים בצפון הארץ בסוף השבוע.",
    ),
    "hi": (
        "सरकार ने मंगलवार को देश के सभी स्कूलों के लिए नई शिक्षा नीति की घोषणा की।",
        "भारी बारिश के कारण राजधानी के कई इलाकों में जलभराव की स्थिति बन गई है।",
        "वित्त मंत्री ने कहा कि अगले साल आर्थिक विकास दर में तेजी आएगी।",
        "भारतीय टीम ने अंतिम मुकाबले में शानदार जीत दर्ज की।",
        "पुलिस ने बताया कि दुर्घटना में तीन लोग गंभीर रूप से घायल हुए हैं।",
    ),
    "hr": (
        "Vlada je u utorak predstavila novi plan za smanjenje cijena energije za kućanstva.",
        "Prema navodima policije, u prometnoj nesreći na autocesti ozlijeđene su tri osobe.",
        "Hrvatska reprezentacija pobijedila je u prijateljskoj utakmici s dva gola razlike.",
        "Državni zavod za statistiku objavio je da je inflacija u rujnu usporila.",
        "Zbog jakog vjetra zatvorena je Jadranska magistrala između Senja i Karlobaga.",
    ),
    "hu": (
        "A kormány kedden új tervet jelentett be az energiaárak csökkentésére.",
        "A rendőrség szerint három ember súlyosan megsérült az autópályán történt balesetben.",
        "A Központi Statisztikai Hivatal adatai szerint az infláció tovább lassult.",
        "A magyar válogatott két góllal nyerte meg a barátságos mérkőzést.",
        "Az előrejelzés szerint hétvégén erős szél és heves esőzés várható az egész országban.",
    ),
    "id": (
        "Pemerintah mengumumkan rencana baru pada hari Selasa untuk menurunkan harga bahan bakar.",
        "Menurut polisi, tiga orang terluka dalam kecelakaan lalu lintas di jalan tol.",
        "Hujan deras menyebabkan banjir di beberapa wilayah Jakarta sejak pagi tadi.",
        "Tim nasional berhasil memenangkan pertandingan dengan skor dua gol tanpa balas.",
        "Bank Indonesia memutuskan untuk mempertahankan suku bunga acuan bulan ini.",
    ),
    "it": (
        "Il governo ha presentato martedì un nuovo piano per ridurre il costo dell'energia.",
        "Secondo la polizia, tre persone sono rimaste ferite in un incidente sull'autostrada.",
        "La squadra ha vinto la partita per due a uno davanti a oltre quarantamila tifosi.",
        "L'Istat ha comunicato che l'inflazione è scesa leggermente nel mese di settembre.",
        "Forti piogge hanno causato allagamenti in diverse città della Liguria.",
    ),
    "ja": (
        "政府は火曜日、家計のエネルギー負担を軽減するための新しい計画を発表した。",
        "警察によると、高速道路で起きた事故で三人が重傷を負った。",
        "日本代表は後半に二点を挙げて親善試合に勝利した。",
        "気象庁は週末にかけて西日本で大雨になるおそれがあると発表した。",
        "東京株式市場では、ハイテク株を中心に買い注文が広がった。",
    ),
    "kn": (
        "ರಾಜ್ಯ ಸರ್ಕಾರ ಮಂಗಳವಾರ ಎಲ್ಲಾ ಶಾಲೆಗಳಿಗೆ ಹೊಸ ಯೋಜನೆಯನ್ನು ಘೋಷಿಸಿದೆ.",
        "ಭಾರಿ ಮಳೆಯಿಂದಾಗಿ ನಗರದ ಹಲವು ಪ್ರದೇಶಗಳಲ್ಲಿ ನೀರು ನುಗ್ಗಿದೆ.",
        "ಮುಂದಿನ ವರ್ಷ ಆರ್ಥಿಕ ಬೆಳವಣಿಗೆ ಹೆಚ್ಚಾಗಲಿದೆ ಎಂದು ಹಣಕಾಸು ಸಚಿವರು ಹೇಳಿದರು.",
        "ಭಾರತ ತಂಡ ಅಂತಿಮ ಪಂದ್ಯದಲ್ಲಿ ಭರ್ಜರಿ ಗೆಲುವು ಸಾಧಿಸಿದೆ.",
        "ರೈತರು ತಮ್ಮ ಬೆಳೆಗಳಿಗೆ ಉತ್ತಮ ಬೆಲೆ ನೀಡುವಂತೆ ಒತ್ತಾಯಿಸಿದರು.",
    ),
    "ko": (
        "정부는 화요일 가계의 에너지 부담을 줄이기 위한 새로운 계획을 발표했다.",
        "경찰에 따르면 고속도로에서 발생한 사고로 세 명이 크게 다쳤다.",
        "한국 대표팀은 후반에 두 골을 넣으며 친선 경기에서 승리했다.",
        "기상청은 주말 동안 남부 지방에 많은 비가 내릴 것으로 예보했다.",
        "서울 아파트 가격이 석 달 연속 상승세를 보이고 있다.",
    ),
    "lt": (
        "Vyriausybė antradienį pristatė naują planą, kaip sumažinti energijos kainas gyventojams.",
        "Policijos teigimu, avarijoje greitkelyje buvo sunkiai sužeisti trys žmonės.",
        "Lietuvos krepšinio rinktinė laimėjo draugiškas rungtynes prieš Latviją.",
        "Statistikos departamento duomenimis, infliacija rugsėjį šiek tiek sulėtėjo.",
        "Sinoptikai savaitgalį prognozuoja stiprų vėją ir lietų visoje šalyje.",
    ),
    "lv": (
        "Valdība otrdien iepazīstināja ar jaunu plānu enerģijas cenu samazināšanai.",
        "Policija ziņo, ka ceļu satiksmes negadījumā uz šosejas smagi cietuši trīs cilvēki.",
        "Latvijas izlase uzvarēja draudzības spēlē ar diviem vārtiem otrajā puslaikā.",
        "Centrālās statistikas pārvaldes dati liecina, ka inflācija septembrī palēninājās.",
        "Sinoptiķi brīdina par spēcīgu vēju un lietu visā valstī nedēļas nogalē.",
    ),
    "mk": (
        "Владата во вторник претстави нов план за намалување на цените на енергијата.",
        "Според полицијата, тројца луѓе се повредени во сообраќајна несреќа на автопатот.",
        "Македонската репрезентација победи на пријателскиот натпревар со два гола.",
        "Државниот завод за статистика соопшти дека инфлацијата забавила во септември.",
        "Метеоролозите предупредуваат на силен ветер и дожд во текот на викендот.",
    ),
    "ml": (
        "സംസ്ഥാന സർക്കാർ ചൊവ്വാഴ്ച എല്ലാ സ്കൂളുകൾക്കുമായി പുതിയ പദ്ധതി പ്രഖ്യാപിച്ചു.",
        "കനത്ത മഴയെ തുടർന്ന് നഗരത്തിലെ പല പ്രദേശങ്ങളിലും വെള്ളം കയറി.",
        "അടുത്ത വർഷം സാമ്പത്തിക വളർച്ച വർധിക്കുമെന്ന് ധനമന്ത്രി പറഞ്ഞു.",
        "ഇന്ത്യൻ ടീം അവസാന മത്സരത്തിൽ മികച്ച വിജയം നേടി.",
        "വിളകൾക്ക് ന്യായമായ വില ലഭിക്കണമെന്ന് കർഷകർ ആവശ്യപ്പെട്ടു.",
    ),
    "mr": (
        "राज्य सरकारने मंगळवारी सर्व शाळांसाठी नवीन योजना जाहीर केली.",
        "मुसळधार पावसामुळे शहरातील अनेक भागांमध्ये पाणी साचले आहे.",
        "पुढच्या वर्षी आर्थिक विकास दर वाढेल असे अर्थमंत्र्यांनी सांगितले.",
        "भारतीय संघाने अंतिम सामन्यात दणदणीत विजय मिळवला.",
        "शेतकऱ्यांनी पिकांना योग्य भाव मिळावा यासाठी आंदोलन केले.",
    ),
    "ne": (
        "सरकारले मंगलबार देशभरका विद्यालयहरूका लागि नयाँ योजना घोषणा गरेको छ।",
        "भारी वर्षाका कारण काठमाडौंका धेरै क्षेत्रमा पानी जमेको छ।",
        "अर्थमन्त्रीले आगामी वर्ष आर्थिक वृद्धिदर बढ्ने बताउनुभयो।",
        "राष्ट्रिय टोलीले अन्तिम खेलमा शानदार जित हासिल गर्‍यो।",
        "प्रहरीका अनुसार सडक दुर्घटनामा तीन जना गम्भीर घाइते भएका छन्।",
    ),
    "nl": (
        "Het kabinet heeft dinsdag een nieuw plan gepresenteerd om de energierekening te verlagen.",
        "Volgens de politie raakten drie mensen zwaargewond bij een ongeluk op de snelweg.",
        "Het Nederlands elftal won de oefenwedstrijd met twee doelpunten in de tweede helft.",
        "Het Centraal Bureau voor de Statistiek meldt dat de inflatie in september verder is gedaald.",
        "Het KNMI waarschuwt voor zware windstoten langs de kust tijdens het weekend.",
    ),
    "no": (
        "Regjeringen la tirsdag fram en ny plan for å redusere strømprisene for husholdningene.",
        "Ifølge politiet ble tre personer alvorlig skadet i en ulykke på motorveien.",
        "Landslaget vant treningskampen med to mål i andre omgang.",
        "Statistisk sentralbyrå melder at arbeidsledigheten økte litt i løpet av sommeren.",
        "Meteorologene varsler kraftig vind og mye nedbør på Vestlandet i helgen.",
    ),
    "pa": (
        "ਸਰਕਾਰ ਨੇ ਮੰਗਲਵਾਰ ਨੂੰ ਸੂਬੇ ਦੇ ਸਾਰੇ ਸਕੂਲਾਂ ਲਈ ਨਵੀਂ ਯੋਜਨਾ ਦਾ ਐਲਾਨ ਕੀਤਾ।",
        "ਭਾਰੀ ਮੀਂਹ ਕਾਰਨ ਸ਼ਹਿਰ ਦੇ ਕਈ ਇਲਾਕਿਆਂ ਵਿੱਚ ਪਾਣੀ ਭਰ ਗਿਆ ਹੈ।",
        "ਵਿੱਤ ਮੰਤਰੀ ਨੇ ਕਿਹਾ ਕਿ ਅਗਲੇ ਸਾਲ ਆਰਥਿਕ ਵਿਕਾਸ ਦਰ ਵਧੇਗੀ।",
        "ਭਾਰਤੀ ਟੀਮ ਨੇ ਆਖਰੀ ਮੈਚ ਵਿੱਚ ਸ਼ਾਨਦਾਰ ਜਿੱਤ ਹਾਸਲ ਕੀਤੀ।",
        "ਕਿਸਾਨਾਂ ਨੇ ਫਸਲਾਂ ਦੇ ਸਹੀ ਭਾਅ ਲਈ ਧਰਨਾ ਦਿੱਤਾ।",
    ),
    "pl": (
        "Rząd przedstawił we wtorek nowy plan obniżenia cen energii dla gospodarstw domowych.",
        "Według policji trzy osoby zostały ciężko ranne w wypadku na autostradzie.",
        "Reprezentacja Polski wygrała mecz towarzyski dwoma golami w drugiej połowie.",
        "Główny Urząd Statystyczny poinformował, że inflacja we wrześniu nieco spadła.",
        "Synoptycy ostrzegają przed silnym wiatrem i ulewami w całym kraju w weekend.",
    ),
    "pt": (
        "O governo apresentou nesta terça-feira um novo plano para reduzir o preço da energia.",
        "Segundo a polícia, três pessoas ficaram feridas num acidente na autoestrada.",
        "A seleção venceu o jogo por dois golos a um perante mais de cinquenta mil adeptos.",
        "O Instituto Nacional de Estatística informou que a inflação abrandou em setembro.",
        "Chuvas fortes provocaram inundações em várias cidades do litoral durante a noite.",
    ),
    "ro": (
        "Guvernul a prezentat marți un nou plan pentru reducerea prețurilor la energie.",
        "Potrivit poliției, trei persoane au fost grav rănite într-un accident pe autostradă.",
        "Echipa națională a câștigat meciul amical cu două goluri în repriza a doua.",
        "Institutul Național de Statistică a anunțat că inflația a scăzut ușor în septembrie.",
        "Meteorologii avertizează asupra vântului puternic și a ploilor în weekend.",
    ),
    "ru": (
        "Правительство во вторник представило новый план по снижению цен на энергию.",
        "По данным полиции, в результате аварии на трассе пострадали три человека.",
        "Сборная выиграла товарищеский матч, забив два гола во втором тайме.",
        "Росстат сообщил, что инфляция в сентябре немного замедлилась.",
        "Синоптики предупреждают о сильном ветре и дождях в выходные дни.",
        "Мэр города пообещал отремонтировать все школы до начала учебного года.",
    ),
    "sk": (
        "Vláda v utorok predstavila nový plán na zníženie cien energií pre domácnosti.",
        "Podľa polície boli pri nehode na diaľnici ťažko zranení traja ľudia.",
        "Slovenská reprezentácia vyhrala prípravný zápas dvoma gólmi v druhom polčase.",
        "Štatistický úrad oznámil, že inflácia sa v septembri mierne spomalila.",
        "Meteorológovia varujú pred silným vetrom a dažďom počas víkendu.",
    ),
    "sl": (
        "Vlada je v torek predstavila nov načrt za znižanje cen energije za gospodinjstva.",
        "Po navedbah policije so bili v prometni nesreči na avtocesti hudo ranjeni trije ljudje.",
        "Slovenska reprezentanca je prijateljsko tekmo dobila z dvema zadetkoma.",
        "Statistični urad je sporočil, da se je inflacija septembra nekoliko umirila.",
        "Vremenoslovci opozarjajo na močan veter in nalive ob koncu tedna.",
    ),
    "so": (
        "Dowladda ayaa maanta ku dhawaaqday qorshe cusub oo lagu dhimayo qiimaha shidaalka.",
        "Booliska ayaa sheegay in saddex qof ay ku dhaawacmeen shil gaari oo ka dhacay magaalada.",
        "Roobab culus ayaa sababay fatahaado ka dhacay tuulooyin badan oo koonfurta ku yaal.",
        "Kooxda qaranka ayaa ciyaartii kama dambaysta ah ku guuleysatay laba gool.",
        "Wasiirka waxbarashada ayaa sheegay in dugsiyo cusub laga dhisi doono gobollada.",
    ),
    "sq": (
        "Qeveria prezantoi të martën një plan të ri për uljen e çmimeve të energjisë.",
        "Sipas policisë, tre persona u plagosën rëndë në një aksident në autostradë.",
        "Kombëtarja fitoi ndeshjen miqësore me dy gola në pjesën e dytë.",
        "Instituti i Statistikave njoftoi se inflacioni u ngadalësua në shtator.",
        "Meteorologët paralajmërojnë erëra të forta dhe reshje shiu gjatë fundjavës.",
    ),
    "sv": (
        "Regeringen presenterade på tisdagen en ny plan för att sänka elpriserna för hushållen.",
        "Enligt polisen skadades tre personer allvarligt i en olycka på motorvägen.",
        "Landslaget vann träningsmatchen med två mål i andra halvlek.",
        "Statistiska centralbyrån meddelar att inflationen sjönk något i september.",
        "SMHI varnar för hårda vindar och kraftigt regn längs västkusten i helgen.",
    ),
    "sw": (
        "Serikali imetangaza mpango mpya wa kupunguza bei ya mafuta nchini kote.",
        "Polisi wamesema watu watatu walijeruhiwa katika ajali ya barabarani jana usiku.",
        "Mvua kubwa imesababisha mafuriko katika maeneo kadhaa ya mji wa Dar es Salaam.",
        "Timu ya taifa ilishinda mechi hiyo kwa mabao mawili bila jibu.",
        "Wakulima wameiomba serikali kuwasaidia kupata mbegu bora kwa msimu ujao.",
    ),
    "ta": (
        "மாநில அரசு செவ்வாய்க்கிழமை அனைத்து பள்ளிகளுக்கும் புதிய திட்டத்தை அறிவித்தது.",
        "கனமழை காரணமாக நகரின் பல பகுதிகளில் தண்ணீர் தேங்கியுள்ளது.",
        "அடுத்த ஆண்டு பொருளாதார வளர்ச்சி அதிகரிக்கும் என்று நிதியமைச்சர் கூறினார்.",
        "இந்திய அணி இறுதிப் போட்டியில் அபார வெற்றி பெற்றது.",
        "பயிர்களுக்கு நியாயமான விலை வேண்டும் என்று விவசாயிகள் போராட்டம் நடத்தினர்.",
    ),
    "te": (
        "రాష్ట్ర ప్రభుత్వం మంగళవారం అన్ని పాఠశాలలకు కొత్త పథకాన్ని ప్రకటించింది.",
        "భారీ వర్షాల కారణంగా నగరంలోని అనేక ప్రాంతాలు జలమయమయ్యాయి.",
        "వచ్చే ఏడాది ఆర్థిక వృద్ధి పెరుగుతుందని ఆర్థిక మంత్రి తెలిపారు.",
        "భారత జట్టు చివరి మ్యాచ్‌లో ఘన విజయం సాధించింది.",
        "పంటలకు గిట్టుబాటు ధర కల్పించాలని రైతులు డిమాండ్ చేశారు.",
    ),
    "th": (
        "รัฐบาลประกาศแผนใหม่เมื่อวันอังคารเพื่อลดค่าไฟฟ้าให้กับครัวเรือน",
        "ตำรวจเปิดเผยว่ามีผู้ได้รับบาดเจ็บสามคนจากอุบัติเหตุบนทางด่วน",
        "ฝนตกหนักทำให้เกิดน้ำท่วมในหลายพื้นที่ของกรุงเทพมหานคร",
        "ทีมชาติไทยชนะการแข่งขันนัดชิงชนะเลิศด้วยสองประตู",
        "ธนาคารแห่งประเทศไทยตัดสินใจคงอัตราดอกเบี้ยนโยบายไว้ที่เดิม",
    ),
    "tl": (
        "Inanunsyo ng pamahalaan noong Martes ang bagong plano para bawasan ang presyo ng kuryente.",
        "Ayon sa pulisya, tatlong tao ang nasugatan sa isang aksidente sa highway kagabi.",
        "Malakas na ulan ang nagdulot ng pagbaha sa maraming lugar sa Maynila.",
        "Nanalo ang pambansang koponan sa huling laro sa iskor na dalawa laban sa isa.",
        "Nanawagan ang mga magsasaka sa gobyerno na tulungan sila sa presyo ng bigas.",
    ),
    "tr": (
        "Hükümet salı günü hane halkı için enerji fiyatlarını düşürecek yeni bir plan açıkladı.",
        "Polisin açıklamasına göre otoyolda meydana gelen kazada üç kişi ağır yaralandı.",
        "Milli takım hazırlık maçını ikinci yarıda attığı iki golle kazandı.",
        "Türkiye İstatistik Kurumu eylül ayında enflasyonun hafif gerilediğini bildirdi.",
        "Meteoroloji hafta sonu için kuvvetli rüzgar ve sağanak yağış uyarısı yaptı.",
    ),
    "uk": (
        "Уряд у вівторок представив новий план зниження цін на енергію для домогосподарств.",
        "За даними поліції, у дорожній аварії на трасі постраждали троє людей.",
        "Збірна виграла товариський матч, забивши два голи у другому таймі.",
        "Держстат повідомив, що інфляція у вересні трохи сповільнилася.",
        "Синоптики попереджають про сильний вітер і дощі на вихідних.",
    ),
    "ur": (
        "حکومت نے منگل کے روز ملک بھر کے اسکولوں کے لیے نئی پالیسی کا اعلان کیا۔",
        "شدید بارش کے باعث شہر کے کئی علاقوں میں پانی جمع ہو گیا ہے۔",
        "وزیر خزانہ نے کہا کہ اگلے سال معاشی ترقی کی شرح میں اضافہ ہوگا۔",
        "قومی ٹیم نے آخری میچ میں شاندار کامیابی حاصل کی۔",
        "پولیس کے مطابق حادثے میں تین افراد شدید زخمی ہوئے ہیں۔",
    ),
    "vi": (
        "Chính phủ hôm thứ Ba công bố kế hoạch mới nhằm giảm giá điện cho các hộ gia đình.",
        "Theo cảnh sát, ba người bị thương nặng trong vụ tai nạn trên đường cao tốc.",
        "Mưa lớn đã gây ngập lụt ở nhiều khu vực của thành phố Hồ Chí Minh.",
        "Đội tuyển quốc gia đã giành chiến thắng với hai bàn thắng trong hiệp hai.",
        "Ngân hàng Nhà nước quyết định giữ nguyên lãi suất điều hành trong tháng này.",
    ),
    "zh-cn": (
        "政府周二宣布了一项降低家庭能源费用的新计划。",
        "据警方介绍，高速公路上发生的交通事故造成三人受重伤。",
        "国家队在下半场打进两球，赢得了这场友谊赛。",
        "国家统计局发布的数据显示，九月份通货膨胀有所放缓。",
        "气象部门预计本周末南方地区将出现强降雨天气。",
    ),
    "zh-tw": (
        "政府週二宣佈了一項降低家庭能源費用的新計劃。",
        "據警方表示，高速公路上發生的車禍造成三人受重傷。",
        "國家隊在下半場攻進兩球，贏得了這場友誼賽。",
        "主計總處公佈的資料顯示，九月份通貨膨脹有所趨緩。",
        "氣象局預計本週末北部地區將出現強降雨與強風。",
    ),
}

LANGUAGES: tuple[str, ...] = tuple(sorted(SENTENCES))

# Things that turn up in scraped articles around and inside the prose.
_NOISE = (
    "https://www.example.com/news/2024/03/16/story-123456.html",
    "contact: newsroom@example.org",
    "(AP)",
    "— Reuters",
    "© 2024 Example Media",
    "12.03.2024 14:35",
    "+49 30 1234567",
    "#breaking",
    "@newsdesk",
    "<b>UPDATE</b>",
    "&nbsp;&amp;",
    "★★★★☆",
    "😀🔥👍",
    "NEW YORK (CNN) --",
    "ISBN 978-3-16-148410-0",
    "€ 1.299,00",
    "¥12,000",
    "3.14159 2.71828 1.41421",
    "[1] [2] [3]",
    "\t\t",
    "\u200b\u200d",
    "Ω≈ç√∫",
    "COVID-19 UPDATE",
    "Ḁḁ ẞ ǅ ǈ",
    "Ǹǹ Ấấ Ầầ Ẩẩ",
)
# Only in `varied_texts`: a decoded article never holds a lone surrogate, a Python str can.
_BROKEN = ("\ud800 broken surrogate", "x\udfffy", "\ufffd\ufffd")

_NO_FEATURES = ("", " ", "12345 67890", "!!! ??? ...", "2024-03-16", "\n\n\t", "— – -- ++ ==")


def _pick_sentences(rng: random.Random, language: str, count: int) -> list[str]:
    sentences = SENTENCES[language]
    return [rng.choice(sentences) for _ in range(count)]


def _words(rng: random.Random, language: str, count: int) -> str:
    sentence = rng.choice(SENTENCES[language])
    if language in ("ja", "zh-cn", "zh-tw", "th"):
        # No spaces between words in these scripts: take a run of characters.
        start = rng.randrange(max(1, len(sentence) - count))
        return sentence[start : start + count]
    words = sentence.split()
    start = rng.randrange(len(words))
    return " ".join(words[start : start + count])


def _add_noise(rng: random.Random, text: str, amount: int) -> str:
    parts = text.split(" ")
    for _ in range(amount):
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(_NOISE))
    return " ".join(parts)


def _shout(rng: random.Random, text: str) -> str:
    # Runs of capital letters are skipped by langdetect's n-gram extraction.
    words = text.split(" ")
    for i in range(len(words)):
        if rng.random() < 0.3:
            words[i] = words[i].upper()
    return " ".join(words)


def _random_unicode(rng: random.Random, length: int) -> str:
    blocks = (
        (0x20, 0x7E),
        (0xA0, 0x24F),
        (0x370, 0x3FF),
        (0x400, 0x4FF),
        (0x590, 0x6FF),
        (0x900, 0x97F),
        (0xE00, 0xE7F),
        (0x3040, 0x30FF),
        (0x4E00, 0x4FFF),
        (0xAC00, 0xAD00),
        (0x1F300, 0x1F5FF),
    )
    chars = []
    for _ in range(length):
        low, high = rng.choice(blocks)
        chars.append(chr(rng.randint(low, high)))
    return "".join(chars)


def varied_texts(count: int, seed: int = 0) -> list[str]:
    """`count` deterministic texts: every language, short and long, mixed, noisy, odd."""
    rng = random.Random(seed)
    texts: list[str] = list(_NO_FEATURES)
    # Every sentence on its own first, so each language is covered whatever `count` is.
    texts.extend(s for lang in LANGUAGES for s in SENTENCES[lang])
    kinds = (
        "fragment",
        "sentence",
        "paragraph",
        "long",
        "mixed",
        "noisy",
        "shouted",
        "unicode",
        "huge",
        "numbers",
    )
    while len(texts) < count:
        kind = rng.choice(kinds)
        lang = rng.choice(LANGUAGES)
        if kind == "fragment":
            text = _words(rng, lang, rng.randint(1, 6))
        elif kind == "sentence":
            text = rng.choice(SENTENCES[lang])
        elif kind == "paragraph":
            text = " ".join(_pick_sentences(rng, lang, rng.randint(2, 6)))
        elif kind == "long":
            text = "\n\n".join(_pick_sentences(rng, lang, rng.randint(10, 40)))
        elif kind == "mixed":
            other = rng.choice(LANGUAGES)
            third = rng.choice(LANGUAGES)
            pieces = (
                _pick_sentences(rng, lang, rng.randint(1, 4))
                + _pick_sentences(rng, other, rng.randint(1, 3))
                + _pick_sentences(rng, third, rng.randint(0, 2))
            )
            rng.shuffle(pieces)
            text = " ".join(pieces)
        elif kind == "noisy":
            text = _add_noise(
                rng, " ".join(_pick_sentences(rng, lang, rng.randint(1, 5))), rng.randint(1, 8)
            )
            if rng.random() < 0.1:
                text += " " + rng.choice(_BROKEN)
        elif kind == "shouted":
            text = _shout(rng, " ".join(_pick_sentences(rng, lang, rng.randint(1, 3))))
        elif kind == "unicode":
            text = _random_unicode(rng, rng.randint(1, 200))
        elif kind == "huge":
            # Past langdetect's 10,000-character cut-off.
            text = " ".join(_pick_sentences(rng, lang, rng.randint(100, 140)))
        else:
            text = (
                f"{rng.randint(0, 10**9)} {_words(rng, lang, rng.randint(1, 3))} {rng.random():.6f}"
            )
        texts.append(text)
    return texts[:count]


def realistic_article(rng: random.Random, language: str) -> tuple[str, str]:
    """A (title, body) pair of roughly 1-5 KB in one language, with the usual debris."""
    title = _words(rng, language, rng.randint(5, 10))
    paragraphs = []
    target = rng.randint(1000, 5000)
    size = 0
    while size < target:
        paragraph = " ".join(_pick_sentences(rng, language, rng.randint(2, 5)))
        if rng.random() < 0.2:
            paragraph = _add_noise(rng, paragraph, 1)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
    return title, "\n\n".join(paragraphs)


def realistic_articles(count: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """`count` (language, title, body) triples; half English, the rest spread over all."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        language = "en" if i % 2 == 0 else rng.choice(LANGUAGES)
        title, body = realistic_article(rng, language)
        out.append((language, title, body))
    return out
